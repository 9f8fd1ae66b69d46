import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import type { Message } from "../../src/protocol/models";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { historyDbOf } from "../helpers/d1";
import { drainOutbox } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";

const wsPath = (id: string) => `/api/conversations/${id}/ws`;
const reactionPath = (id: string, messageId: string, emoji: string) =>
  `/api/conversations/${id}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;

async function historyOf(id: string, token: string): Promise<Message[]> {
  return (await api("GET", `/api/conversations/${id}/messages`, { token })).body.messages;
}

async function d1Reactions(
  conversationId: string,
): Promise<{ seq: number; emoji: string; user_id: string }[]> {
  return (
    await (
      await historyDbOf(conversationId)
    )
      .prepare(
        "SELECT seq, emoji, user_id FROM reactions WHERE conversation_id = ? ORDER BY seq, emoji, user_id",
      )
      .bind(conversationId)
      .all<{ seq: number; emoji: string; user_id: string }>()
  ).results;
}

/** Two people in a direct conversation with one message from Ann, and a socket each. */
async function setUp() {
  const a = await registerUser("Ann");
  const b = await registerUser("Bob");
  const { conversation } = await startConversation(a.token, [b.user.id]);
  const message = await sendMessage(a.token, conversation.id, "react to me");
  const sa = await openSocket(wsPath(conversation.id), { token: a.token });
  const sb = await openSocket(wsPath(conversation.id), { token: b.token });
  await Promise.all([sa.next(ofType("ready")), sb.next(ofType("ready"))]);
  return { a, b, id: conversation.id, message, sa, sb };
}

describe("reactions", () => {
  it("adds and takes back reactions over REST, idempotently, with counts for all and myReactions for each", async () => {
    const { a, b, id, message, sa, sb } = await setUp();
    expect((await api("PUT", reactionPath(id, message.id, "👍"), { token: b.token })).status).toBe(204);
    const event = {
      type: "reaction",
      messageId: message.id,
      seq: 1,
      emoji: "👍",
      userId: b.user.id,
      active: true,
      count: 1,
    };
    expect(await sa.next(ofType("reaction"))).toEqual(event);
    expect(await sb.next(ofType("reaction"))).toEqual(event);
    // The same PUT again changes nothing and tells nobody.
    expect((await api("PUT", reactionPath(id, message.id, "👍"), { token: b.token })).status).toBe(204);
    expect((await api("PUT", reactionPath(id, message.id, "👍"), { token: a.token })).status).toBe(204);
    expect((await sa.next(ofType("reaction"))).count).toBe(2);
    expect((await api("PUT", reactionPath(id, message.id, "+1"), { token: a.token })).status).toBe(204);

    expect((await historyOf(id, a.token))[0]).toMatchObject({
      reactions: [
        { emoji: "👍", count: 2 },
        { emoji: "+1", count: 1 },
      ],
      myReactions: ["👍", "+1"],
    });
    expect((await historyOf(id, b.token))[0]?.myReactions).toEqual(["👍"]);

    expect((await api("DELETE", reactionPath(id, message.id, "👍"), { token: b.token })).status).toBe(204);
    expect(await sa.next((e) => e.type === "reaction" && !e.active)).toMatchObject({
      emoji: "👍",
      userId: b.user.id,
      count: 1,
    });
    expect((await api("DELETE", reactionPath(id, message.id, "👍"), { token: b.token })).status).toBe(204);
    expect((await historyOf(id, b.token))[0]).toMatchObject({
      reactions: [
        { emoji: "👍", count: 1 },
        { emoji: "+1", count: 1 },
      ],
      myReactions: [],
    });
    expect(sa.events.filter(ofType("reaction"))).toHaveLength(4);
    sa.close();
    sb.close();
  });

  it("takes reactions as socket frames and tells every socket, the reacting one too", async () => {
    const { b, id, message, sa, sb } = await setUp();
    sb.send({ type: "react", messageId: message.id, emoji: "🎉", active: true });
    const seen = await Promise.all([sa.next(ofType("reaction")), sb.next(ofType("reaction"))]);
    for (const e of seen) expect(e).toMatchObject({ emoji: "🎉", userId: b.user.id, active: true, count: 1 });
    sb.send({ type: "react", messageId: message.id, emoji: "🎉", active: false });
    expect(await sa.next(ofType("reaction"))).toMatchObject({ active: false, count: 0 });
    expect((await historyOf(id, b.token))[0]?.reactions).toEqual([]);
    sb.send({ type: "react", messageId: message.id, emoji: "👍👍", active: true });
    expect(await sb.next(ofType("error"))).toMatchObject({ code: "validation_failed" });
    sb.send({ type: "react", messageId: "m_nope", emoji: "👍", active: true });
    expect(await sb.next(ofType("error"))).toMatchObject({ code: "not_found" });
    sa.close();
    sb.close();
  });

  it("accepts one emoji of any shape or a short name, and refuses anything else with 422", async () => {
    const { b, id, message, sa, sb } = await setUp();
    for (const emoji of ["❤️", "👍🏽", "🇫🇷", "👨‍👩‍👧‍👦", "1️⃣", "party_parrot", "+1", "x".repeat(32)]) {
      expect((await api("PUT", reactionPath(id, message.id, emoji), { token: b.token })).status, emoji).toBe(
        204,
      );
    }
    for (const emoji of ["👍👍", "ab c", "A", "é", "x".repeat(33), "👍\u202e", "<b>", "%F0%9F"]) {
      const res = await api("PUT", reactionPath(id, message.id, emoji), { token: b.token });
      expect(res.status, emoji).toBe(422);
      expect(res.body.error.details).toEqual([{ path: "emoji", message: expect.any(String) }]);
    }
    expect((await historyOf(id, b.token))[0]?.reactions).toHaveLength(8);
    sa.close();
    sb.close();
  });

  it("refuses reactions to a tombstone (422), to unknown messages (404) and from non-participants (404)", async () => {
    const { a, b, id, message, sa, sb } = await setUp();
    await api("PUT", reactionPath(id, message.id, "👍"), { token: b.token });
    await api("DELETE", `/api/conversations/${id}/messages/${message.id}`, { token: a.token });
    const tombstone = await api("PUT", reactionPath(id, message.id, "😮"), { token: b.token });
    expect(tombstone.status).toBe(422);
    expect(tombstone.body.error.code).toBe("validation_failed");
    // A tombstone shows no reactions, and taking one back is refused like adding one.
    expect((await historyOf(id, b.token))[0]).toMatchObject({ reactions: [], deletedAt: expect.any(String) });
    expect((await api("DELETE", reactionPath(id, message.id, "👍"), { token: b.token })).status).toBe(422);
    expect((await api("PUT", reactionPath(id, "m_unknown", "👍"), { token: b.token })).status).toBe(404);

    const eve = await registerUser("Eve");
    const other = await startConversation(eve.token, [a.user.id]);
    const hers = await sendMessage(eve.token, other.conversation.id, "elsewhere");
    expect((await api("PUT", reactionPath(id, message.id, "👍"), { token: eve.token })).status).toBe(404);
    // A message id of another conversation is unknown here.
    expect((await api("PUT", reactionPath(id, hers.id, "👍"), { token: b.token })).status).toBe(404);
    expect(sa.events.filter(ofType("reaction"))).toHaveLength(1);
    sa.close();
    sb.close();
  });

  it("keeps at most MAX_REACTIONS_PER_MESSAGE different emoji on a message", async () => {
    const { a, b, id, message, sa, sb } = await setUp();
    const max = limitsFrom(env).maxReactionsPerMessage;
    for (let i = 0; i < max; i++) {
      expect((await api("PUT", reactionPath(id, message.id, `e${i}`), { token: b.token })).status).toBe(204);
    }
    const over = await api("PUT", reactionPath(id, message.id, "one_more"), { token: b.token });
    expect(over.status).toBe(422);
    // An emoji already there can still be added by others.
    expect((await api("PUT", reactionPath(id, message.id, "e0"), { token: a.token })).status).toBe(204);
    const reactions = (await historyOf(id, b.token))[0]?.reactions ?? [];
    expect(reactions).toHaveLength(max);
    expect(reactions[0]).toEqual({ emoji: "e0", count: 2 });
    sa.close();
    sb.close();
  });

  it("copies reactions to D1 through the outbox, and their removal", async () => {
    const { a, b, id, message, sa, sb } = await setUp();
    await api("PUT", reactionPath(id, message.id, "👍"), { token: b.token });
    await api("PUT", reactionPath(id, message.id, "👍"), { token: a.token });
    await drainOutbox(id, 1);
    await expect.poll(() => d1Reactions(id)).toHaveLength(2);
    await api("DELETE", reactionPath(id, message.id, "👍"), { token: a.token });
    await expect.poll(() => d1Reactions(id)).toEqual([{ seq: 1, emoji: "👍", user_id: b.user.id }]);
    sa.close();
    sb.close();
  });

  it("keeps reactions across an eviction and goes on counting after it", async () => {
    const { a, b, id, message, sa, sb } = await setUp();
    await api("PUT", reactionPath(id, message.id, "👍"), { token: b.token });
    await sa.next(ofType("reaction"));
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id), { webSockets: "hibernate" });
    expect((await historyOf(id, b.token))[0]).toMatchObject({
      reactions: [{ emoji: "👍", count: 1 }],
      myReactions: ["👍"],
    });
    sa.send({ type: "react", messageId: message.id, emoji: "👍", active: true });
    expect(await sb.next((e) => e.type === "reaction" && e.userId === a.user.id)).toMatchObject({ count: 2 });
    sa.close();
    sb.close();
  });
});
