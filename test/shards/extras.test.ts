import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import type { HistoryPage } from "../../src/protocol/responses";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { historyDbOf } from "../helpers/d1";
import { drainOutbox } from "../helpers/rooms";
import { until } from "../helpers/wait";

/**
 * Replies and reactions in rooms that keep a tail of 5 messages (ROOM_LOG_TAIL): a message older
 * than the tail is quoted and reacted to like any other, and its quote and counts are in the shard
 * for every later read of older history.
 */

const TOTAL = 12;

async function longConversation() {
  const a = await registerUser("Ann", "Extras");
  const b = await registerUser("Bob", "Extras");
  const { conversation } = await startConversation(a.token, [b.user.id], { title: "extras" });
  const sent: Message[] = [];
  for (let i = 1; i <= TOTAL; i++) sent.push(await sendMessage(a.token, conversation.id, `m${i}`));
  await drainOutbox(conversation.id, TOTAL);
  return { a, b, id: conversation.id, sent };
}

const page = async (id: string, token: string, query: string): Promise<Message[]> =>
  (await call<HistoryPage>("GET", `/api/conversations/${id}/messages?${query}`, { token })).body.messages;

describe("replies and reactions older than the room's tail", () => {
  it("quotes and reacts to a message the room's log no longer holds; older pages show both", async () => {
    const { a, b, id, sent } = await longConversation();
    const first = sent[0]!;
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    const reply = await call("POST", `/api/conversations/${id}/messages`, {
      token: b.token,
      body: { body: "about the first one", replyTo: first.id },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.message.replyTo).toMatchObject({ id: first.id, seq: 1, body: "m1" });
    const react = `/api/conversations/${id}/messages/${first.id}/reactions/${encodeURIComponent("👍")}`;
    expect((await call("PUT", react, { token: b.token })).status).toBe(204);
    await drainOutbox(id, TOTAL + 1);
    const db = await historyDbOf(id);
    await until("the shard to have the counts and the reaction row", async () => {
      const row = await db
        .prepare("SELECT reactions FROM messages WHERE conversation_id = ? AND seq = 1")
        .bind(id)
        .first<{ reactions: string | null }>();
      const reactions = await db
        .prepare("SELECT emoji, user_id FROM reactions WHERE conversation_id = ?")
        .bind(id)
        .all();
      return row?.reactions === JSON.stringify([{ emoji: "👍", count: 1 }]) && reactions.results.length === 1;
    });
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    const [oldest] = await page(id, b.token, "before=2&limit=1");
    expect(oldest).toMatchObject({ seq: 1, reactions: [{ emoji: "👍", count: 1 }], myReactions: ["👍"] });
    expect((await page(id, a.token, "before=2&limit=1"))[0]?.myReactions).toEqual([]);
    // The original, edited long after: the reply in the tail quotes the new text.
    await call("PATCH", `/api/conversations/${id}/messages/${first.id}`, {
      token: a.token,
      body: { body: "m1, edited" },
    });
    const [latest] = await page(id, a.token, "limit=1");
    expect(latest?.replyTo).toMatchObject({ id: first.id, body: "m1, edited" });
  });

  it("refuses a reply to and a reaction on an unknown message id, whatever the tail", async () => {
    const { b, id } = await longConversation();
    const reply = await call("POST", `/api/conversations/${id}/messages`, {
      token: b.token,
      body: { body: "hm", replyTo: "m_nothere0000000000000" },
    });
    expect(reply.status).toBe(422);
    const react = await call(
      "PUT",
      `/api/conversations/${id}/messages/m_nothere0000000000000/reactions/%2B1`,
      {
        token: b.token,
      },
    );
    expect(react.status).toBe(404);
  });
});
