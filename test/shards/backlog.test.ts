import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { type HistoryBatch, mirrorHistory, mirrorMembership } from "../../src/db/mirror";
import { shardDb } from "../../src/db/shards";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { Outbox } from "../../src/durable/room/outbox";
import { OutboxLog } from "../../src/durable/room/outbox-log";
import { RateWindow } from "../../src/durable/room/throttles";
import { newId } from "../../src/ids";
import { NO_METRICS } from "../../src/observability/metrics";
import type { Message } from "../../src/protocol/models";
import { registerUser, startConversation } from "../helpers/api";
import { Figures } from "../helpers/checks";
import { breakShard, d1MessageRows, historyDbOf } from "../helpers/d1";
import { expectNothingLost } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "../unit/support";

/**
 * The biggest messages there are, sent while the shard refuses everything: the backlog grows in
 * the room, and once the shard is back it drains in batches that each stay under
 * D1_BATCH_MAX_BYTES (64 kB in this project), so no backlog can make a batch D1 refuses.
 */

const limits = limitsFrom(env);
/** A body at the character limit whose every character is 4 bytes of UTF-8: the largest row there is. */
const LARGEST = "😀".repeat(limits.maxMessageChars);
const encoder = new TextEncoder();

describe("a backlog of maximum-size messages", () => {
  it("reaches the shard after an outage in batches that each stay under the byte cap", async () => {
    const people = [person(newId("u"), "Big"), person(newId("u"), "Bigger")];
    const batches: { declared: number; bound: number; messages: number }[] = [];
    const clock = manualClock();
    await withStorage(async (storage) => {
      const room = roomWith(storage, people);
      const shard = shardDb(env, room.state.requireMeta().shard ?? "");
      const restore = await breakShard(shard);
      const log = new OutboxLog(room.store);
      const { alarm } = recordingAlarm();
      const outbox = new Outbox(
        room.state,
        room.store,
        log,
        {
          membership: (id, batch) => mirrorMembership(env.DB, id, batch, NO_METRICS),
          history: async (name, id, batch: HistoryBatch) => {
            // What D1 is sent: each statement's rows as one bound JSON string.
            const bound = [batch.messagesJson, batch.readsJson].reduce(
              (n, json) => n + (json === null ? 0 : encoder.encode(json).length),
              0,
            );
            batches.push({ declared: batch.bytes, bound, messages: batch.messageCount });
            await mirrorHistory(shardDb(env, name), id, batch, NO_METRICS);
          },
        },
        alarm,
        {
          flushMs: limits.outboxFlushMs,
          retryMs: limits.outboxRetryMs,
          restWaitMs: 0,
          batchMaxBytes: limits.d1BatchMaxBytes,
          batchMaxRows: limits.d1BatchMaxRows,
          logTail: limits.roomLogTail,
        },
        () => undefined,
        clock.now,
      );
      const commits = new GroupCommit(
        room.store,
        room.state,
        new RateWindow(1_000_000),
        limits.maxMessageChars,
        { markAll: () => undefined },
        () => undefined,
        limits.storageBatchMaxBytes,
      );
      // The users are not in this directory: the conversation's row goes in, its people do not matter here.
      await env.DB.batch(
        people.map((u) =>
          env.DB.prepare(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at) VALUES (?, ?, 'x', ?, 'Test', ?)",
          ).bind(u.id, `${u.id}@example.com`, u.firstName, new Date().toISOString()),
        ),
      );
      const n = 40;
      for (let i = 0; i < n; i++) commits.sendNow(people[i % 2]!.id, LARGEST, `big${i}`);
      for (let i = 0; i < 5; i++) {
        clock.advance(limits.outboxRetryMs);
        await outbox.flush();
      }
      expect(batches.length).toBeGreaterThan(0);
      expect(await d1Rows(shard, room.state.id)).toBe(0);
      await restore();
      for (let i = 0; i < 3 * n && log.hasPending(room.state.lastSeq); i++) {
        clock.advance(limits.outboxFlushMs);
        await outbox.flush();
      }
      expect(log.hasPending(room.state.lastSeq)).toBe(false);
      expect(await d1Rows(shard, room.state.id)).toBe(n);
    });
    for (const b of batches) {
      expect(b.bound).toBe(b.declared);
      expect(b.bound).toBeLessThanOrEqual(limits.d1BatchMaxBytes);
    }
    // Several rows per batch: the cap packs what fits rather than sending one row at a time.
    expect(Math.max(...batches.map((b) => b.messages))).toBeGreaterThan(1);
  });

  it("sent over a socket while the shard is down: every one acked in order, then copied once", async () => {
    const figures = new Figures("backlog");
    const a = await registerUser("Ann", "Backlog");
    const b = await registerUser("Bob", "Backlog");
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "big" });
    const id = conversation.id;
    const restore = await breakShard(await historyDbOf(id));
    let acked: Message[] = [];
    try {
      const s = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
      await s.next(ofType("ready"));
      // More bytes than one group commit stores (STORAGE_BATCH_MAX_BYTES): several groups, one order.
      for (let i = 0; i < 30; i++) s.send({ type: "send", body: LARGEST, clientId: `big${i}` });
      acked = (await s.collect(ofType("ack"), 30)).map((e) => e.message as Message);
      expect(acked.map((m) => m.seq)).toEqual(acked.map((_, i) => i + 1));
      s.close();
      await runDurableObjectAlarm(env.CONVERSATION_ROOM.getByName(id));
      expect(await d1MessageRows(id)).toEqual([]);
    } finally {
      await restore();
    }
    await expectNothingLost(id, a.token, acked, figures);
    figures.print();
  });
});

async function d1Rows(shard: D1Database, conversationId: string): Promise<number> {
  const row = await shard
    .prepare("SELECT count(*) AS n FROM messages WHERE conversation_id = ?")
    .bind(conversationId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
