import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";
import { historyDbOf } from "../helpers/d1";
import { drainOutbox } from "../helpers/rooms";
import type { Message } from "../../src/protocol/models";

const wsPath = (id: string) => `/api/conversations/${id}/ws`;
const messagesPath = (id: string) => `/api/conversations/${id}/messages`;

async function d1Quote(conversationId: string, seq: number): Promise<unknown> {
  const row = await (
    await historyDbOf(conversationId)
  )
    .prepare("SELECT reply_to_id, reply_quote FROM messages WHERE conversation_id = ? AND seq = ?")
    .bind(conversationId, seq)
    .first<{ reply_to_id: string | null; reply_quote: string | null }>();
  return row && { replyToId: row.reply_to_id, quote: row.reply_quote && JSON.parse(row.reply_quote) };
}

describe("replies", () => {
  it("quotes the original in a reply sent over REST or the socket, and every participant sees the quote", async () => {
    const a = await registerUser("Ann", "Asker");
    const b = await registerUser("Bob", "Answer");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(wsPath(conversation.id), { token: a.token });
    const sb = await openSocket(wsPath(conversation.id), { token: b.token });
    await Promise.all([sa.next(ofType("ready")), sb.next(ofType("ready"))]);
    const question = await sendMessage(a.token, conversation.id, "lunch at noon?");
    expect(question).toMatchObject({ replyTo: null, reactions: [], attachments: [], system: false });

    const rest = await api("POST", messagesPath(conversation.id), {
      token: b.token,
      body: { body: "yes!", replyTo: question.id, clientId: "r1" },
    });
    expect(rest.status).toBe(201);
    const quote = {
      id: question.id,
      seq: 1,
      sender: { id: a.user.id, firstName: "Ann", lastName: "Asker", avatarUrl: null },
      body: "lunch at noon?",
      deletedAt: null,
    };
    expect(rest.body.message).toMatchObject({ seq: 2, replyTo: quote, myReactions: [] });
    expect((await sa.next((e) => e.type === "message" && e.message.seq === 2)).message.replyTo).toEqual(
      quote,
    );

    sb.send({ type: "send", body: "and a socket reply", clientId: "r2", replyTo: question.id });
    const ack = await sb.next(ofType("ack"));
    expect(ack.message.replyTo).toEqual(quote);
    const live = await sa.next((e) => e.type === "message" && e.message.seq === 3);
    expect(live.message.replyTo).toEqual(quote);
    expect(live.message).not.toHaveProperty("myReactions");

    // The same clientId again is the original message, quote included.
    const again = await api("POST", messagesPath(conversation.id), {
      token: b.token,
      body: { body: "yes!", replyTo: question.id, clientId: "r1" },
    });
    expect(again.status).toBe(200);
    expect(again.body.message).toMatchObject({ seq: 2, replyTo: quote });
    const history = await api("GET", messagesPath(conversation.id), { token: a.token });
    expect(history.body.messages.map((m: Message) => m.replyTo?.id ?? null)).toEqual([
      null,
      question.id,
      question.id,
    ]);
    sa.close();
    sb.close();
  });

  it("quotes the first 200 characters, never half of a character", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const long = `${"x".repeat(199)}😀${"y".repeat(100)}`;
    const original = await sendMessage(a.token, conversation.id, long);
    const res = await api("POST", messagesPath(conversation.id), {
      token: b.token,
      body: { body: "tl;dr", replyTo: original.id },
    });
    expect(res.body.message.replyTo.body).toBe(`${"x".repeat(199)}😀`);
  });

  it("rewrites the quotes when the original is edited, shows a tombstone once it is deleted, and copies both to D1", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const original = await sendMessage(a.token, conversation.id, "meet at 5");
    const reply = (
      await api("POST", messagesPath(conversation.id), {
        token: b.token,
        body: { body: "ok", replyTo: original.id },
      })
    ).body.message as Message;
    const sb = await openSocket(wsPath(conversation.id), { token: b.token });
    await sb.next(ofType("ready"));

    const edited = await api("PATCH", `${messagesPath(conversation.id)}/${original.id}`, {
      token: a.token,
      body: { body: "meet at 6" },
    });
    expect(edited.status).toBe(200);
    // Live clients apply the original's own event to the quotes they hold (no event per reply).
    expect((await sb.next(ofType("message.updated"))).message).toMatchObject({
      id: original.id,
      body: "meet at 6",
    });
    let history = (await api("GET", messagesPath(conversation.id), { token: b.token })).body.messages;
    expect(history[1]).toMatchObject({
      id: reply.id,
      body: "ok",
      editedAt: null,
      replyTo: { id: original.id, body: "meet at 6", deletedAt: null },
    });
    await drainOutbox(conversation.id, 2);
    await expect
      .poll(() => d1Quote(conversation.id, 2))
      .toMatchObject({
        replyToId: original.id,
        quote: { body: "meet at 6" },
      });

    expect(
      (await api("DELETE", `${messagesPath(conversation.id)}/${original.id}`, { token: a.token })).status,
    ).toBe(204);
    history = (await api("GET", messagesPath(conversation.id), { token: b.token })).body.messages;
    expect(history[1].replyTo).toMatchObject({ id: original.id, body: "", deletedAt: expect.any(String) });
    await expect
      .poll(
        async () =>
          ((await d1Quote(conversation.id, 2)) as { quote: { deletedAt: unknown } }).quote.deletedAt,
      )
      .toEqual(expect.any(String));
    sb.close();
  });

  it("refuses a reply to a message of another conversation, an unknown or a deleted one, and stores nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const one = (await startConversation(a.token, [b.user.id])).conversation;
    const other = (await startConversation(a.token, [c.user.id])).conversation;
    const elsewhere = await sendMessage(a.token, other.id, "in the other conversation");
    const gone = await sendMessage(a.token, one.id, "soon deleted");
    await api("DELETE", `${messagesPath(one.id)}/${gone.id}`, { token: a.token });
    for (const [replyTo, why] of [
      [elsewhere.id, "unknown message"],
      ["m_doesnotexist000000000", "unknown message"],
      [gone.id, "the message was deleted"],
    ] as const) {
      const res = await api("POST", messagesPath(one.id), { token: b.token, body: { body: "hm", replyTo } });
      expect(res.status, replyTo).toBe(422);
      expect(res.body.error).toMatchObject({
        code: "validation_failed",
        details: [{ path: "replyTo", message: why }],
      });
    }
    const sb = await openSocket(wsPath(one.id), { token: b.token });
    await sb.next(ofType("ready"));
    sb.send({ type: "send", body: "hm", clientId: "bad-reply", replyTo: elsewhere.id });
    expect(await sb.next(ofType("error"))).toMatchObject({
      code: "validation_failed",
      clientId: "bad-reply",
    });
    const history = await api("GET", messagesPath(one.id), { token: b.token });
    expect(history.body.messages.map((m: Message) => m.seq)).toEqual([1]);
    sb.close();
  });

  it("keeps quotes and rewrites them after the room was evicted", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const original = await sendMessage(a.token, conversation.id, "before eviction");
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await evictDurableObject(room);
    const reply = await api("POST", messagesPath(conversation.id), {
      token: b.token,
      body: { body: "answer", replyTo: original.id },
    });
    expect(reply.body.message.replyTo).toMatchObject({ id: original.id, body: "before eviction" });
    await evictDurableObject(room);
    await api("PATCH", `${messagesPath(conversation.id)}/${original.id}`, {
      token: a.token,
      body: { body: "edited after eviction" },
    });
    await evictDurableObject(room);
    const history = (await api("GET", messagesPath(conversation.id), { token: b.token })).body.messages;
    expect(history[1].replyTo).toMatchObject({ id: original.id, body: "edited after eviction" });
  });
});
