import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import type { HistoryPage } from "../../src/protocol/responses";
import { registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { historyDbOf } from "../helpers/d1";
import { drainOutbox, fullHistory } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * Rooms of this project keep a tail of 5 messages (ROOM_LOG_TAIL); older history is read from the
 * conversation's shard. The API cannot tell: pages, cursors, replays, edits and deletes of old
 * messages behave as when the room held everything.
 */

const TOTAL = 23;

async function conversationWithHistory() {
  const a = await registerUser("Ann", "Tail");
  const b = await registerUser("Bob", "Tail");
  const { conversation } = await startConversation(a.token, [b.user.id], { title: "long" });
  const sent: Message[] = [];
  for (let i = 1; i <= TOTAL; i++)
    sent.push(await sendMessage(i % 2 ? a.token : b.token, conversation.id, `m${i}`));
  await drainOutbox(conversation.id, TOTAL);
  return { a, b, id: conversation.id, sent };
}

/** Every page walking back from the latest with `before`, oldest first. */
async function pagesBackwards(id: string, token: string, limit: number): Promise<Message[]> {
  const out: Message[] = [];
  let before: number | null = null;
  for (;;) {
    const query: string = before === null ? `limit=${limit}` : `limit=${limit}&before=${before}`;
    const page: { status: number; body: HistoryPage } = await call<HistoryPage>(
      "GET",
      `/api/conversations/${id}/messages?${query}`,
      { token },
    );
    expect(page.status).toBe(200);
    out.unshift(...page.body.messages);
    if (!page.body.hasMore) return out;
    before = page.body.messages[0]!.seq;
  }
}

describe("history older than the room's tail", () => {
  it("pages the whole history with either cursor, across the shard and the tail, as it was acked", async () => {
    const { a, id, sent } = await conversationWithHistory();
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    expect(await fullHistory(id, a.token)).toEqual(sent);
    expect(await pagesBackwards(id, a.token, 4)).toEqual(sent);
    const latest = await call<HistoryPage>("GET", `/api/conversations/${id}/messages?limit=3`, {
      token: a.token,
    });
    expect(latest.body).toEqual({ messages: sent.slice(-3), hasMore: true });
  });

  it("replays a reconnecting socket's missed messages from the shard and the tail, in order", async () => {
    const { b, id, sent } = await conversationWithHistory();
    const s = await openSocket(`/api/conversations/${id}/ws?since=2`, { token: b.token });
    await s.next(ofType("ready"));
    const replayed = await s.collect(ofType("message"), TOTAL - 2);
    // A socket's messages are events, not REST answers: without the caller's own `myReactions`.
    const asEvents = sent.slice(2).map(({ myReactions: _mine, ...event }) => event);
    expect(replayed.map((e) => e.message)).toEqual(asEvents);
    s.close();
  });

  it("edits and deletes a message older than the tail; the shard and every later read have the change", async () => {
    const { a, b, id, sent } = await conversationWithHistory();
    const [first, second] = sent as [Message, Message];
    const edited = await call("PATCH", `/api/conversations/${id}/messages/${first.id}`, {
      token: a.token,
      body: { body: "m1, edited long after" },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.message).toMatchObject({
      seq: 1,
      body: "m1, edited long after",
      editedAt: expect.any(String),
    });
    const s = await openSocket(`/api/conversations/${id}/ws`, { token: b.token });
    await s.next(ofType("ready"));
    s.send({ type: "delete", messageId: second.id });
    expect((await s.next(ofType("message.deleted"))).message).toMatchObject({ seq: 2, body: "" });
    s.close();
    // Someone else's old message stays theirs.
    expect(
      (
        await call("PATCH", `/api/conversations/${id}/messages/${second.id}`, {
          token: a.token,
          body: { body: "x" },
        })
      ).status,
    ).toBe(403);
    const history = await fullHistory(id, b.token);
    expect(history.slice(0, 2)).toMatchObject([
      { seq: 1, body: "m1, edited long after" },
      { seq: 2, body: "", deletedAt: expect.any(String) },
    ]);
    expect(history.slice(2)).toEqual(sent.slice(2));
    const db = await historyDbOf(id);
    const oldRows = async () =>
      (
        await db
          .prepare(
            "SELECT seq, body, deleted_at FROM messages WHERE conversation_id = ? AND seq <= 2 ORDER BY seq",
          )
          .bind(id)
          .all()
      ).results;
    await until("the shard has the delete", async () => {
      await runDurableObjectAlarm(env.CONVERSATION_ROOM.getByName(id));
      return (await oldRows())[1]?.deleted_at !== null;
    });
    expect(await oldRows()).toEqual([
      { seq: 1, body: "m1, edited long after", deleted_at: null },
      { seq: 2, body: "", deleted_at: expect.any(String) },
    ]);
  });

  it("answers 503 for older history while its shard fails, and the tail as usual", async () => {
    const { a, id, sent } = await conversationWithHistory();
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    // The shard fails: the table the pages read is gone for a moment.
    const db = await historyDbOf(id);
    await db.prepare("ALTER TABLE messages RENAME TO messages_away").run();
    try {
      const latest = await call<HistoryPage>("GET", `/api/conversations/${id}/messages?limit=3`, {
        token: a.token,
      });
      expect(latest.body.messages).toEqual(sent.slice(-3));
      const older = await call("GET", `/api/conversations/${id}/messages?after=0&limit=5`, {
        token: a.token,
      });
      expect(older.status).toBe(503);
      expect(older.body.error.code).toBe("unavailable");
    } finally {
      await db.prepare("ALTER TABLE messages_away RENAME TO messages").run();
    }
    expect(await fullHistory(id, a.token)).toEqual(sent);
  });
});
