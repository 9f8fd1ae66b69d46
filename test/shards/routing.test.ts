import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures } from "../helpers/checks";
import { breakShard, d1MessageRows, shardNameOf } from "../helpers/d1";
import { drainOutbox, expectNothingLost } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * History sharded over two databases besides the directory (this project binds SHARD_A and
 * SHARD_B, HISTORY_SHARDS="SHARD_A,SHARD_B"): where a conversation's rows go, and what one shard
 * that fails does to the others.
 */

const figures = new Figures("shards");
const SHARDS = { SHARD_A: env.SHARD_A, SHARD_B: env.SHARD_B } as const;
type ShardName = keyof typeof SHARDS;
const room = (id: string) => env.CONVERSATION_ROOM.getByName(id);

async function rowsOn(shard: ShardName, conversationId: string) {
  const { results } = await SHARDS[shard]
    .prepare("SELECT seq, body, edited_at, deleted_at FROM messages WHERE conversation_id = ? ORDER BY seq")
    .bind(conversationId)
    .all<{ seq: number; body: string; edited_at: string | null; deleted_at: string | null }>();
  return results;
}

const other = (shard: ShardName): ShardName => (shard === "SHARD_A" ? "SHARD_B" : "SHARD_A");

/** Group conversations of `owner` until there is one on each shard (placement is a hash of the id). */
async function oneOnEachShard(owner: TestUser, peer: TestUser): Promise<Record<ShardName, string>> {
  const found: Partial<Record<ShardName, string>> = {};
  for (let i = 0; i < 40 && !(found.SHARD_A && found.SHARD_B); i++) {
    const { conversation } = await startConversation(owner.token, [peer.user.id], { title: `t${i}` });
    const shard = (await shardNameOf(conversation.id)) as ShardName;
    found[shard] ??= conversation.id;
  }
  if (!found.SHARD_A || !found.SHARD_B) throw new Error("no conversation landed on one of the shards");
  return { SHARD_A: found.SHARD_A, SHARD_B: found.SHARD_B };
}

describe("history shards", () => {
  it("places each conversation on one shard, recorded in the directory, and keeps it there across evictions", async () => {
    const a = await registerUser("Ann", "Shard");
    const b = await registerUser("Bob", "Shard");
    const placed = await oneOnEachShard(a, b);
    for (const [shard, id] of Object.entries(placed) as [ShardName, string][]) {
      const first = await sendMessage(a.token, id, `first on ${shard}`);
      await evictDurableObject(room(id));
      const second = await sendMessage(b.token, id, `after a restart on ${shard}`);
      await drainOutbox(id, 2);
      expect(await shardNameOf(id)).toBe(shard);
      expect((await rowsOn(shard, id)).map((r) => r.body)).toEqual([first.body, second.body]);
      expect(await rowsOn(other(shard), id)).toEqual([]);
      // The directory has no message table of its own to fill: it is not written per message.
      const row = await env.DB.prepare("SELECT last_seq FROM conversations WHERE id = ?").bind(id).first();
      expect(row).toEqual({ last_seq: 0 });
    }
  });

  it("lands a conversation's edits and deletes on its own shard only", async () => {
    const a = await registerUser("Ann", "Edits");
    const b = await registerUser("Bob", "Edits");
    const placed = await oneOnEachShard(a, b);
    for (const [shard, id] of Object.entries(placed) as [ShardName, string][]) {
      const kept = await sendMessage(a.token, id, "to be edited");
      const gone = await sendMessage(a.token, id, "to be deleted");
      expect(
        (
          await call("PATCH", `/api/conversations/${id}/messages/${kept.id}`, {
            token: a.token,
            body: { body: "edited" },
          })
        ).status,
      ).toBe(200);
      expect(
        (await call("DELETE", `/api/conversations/${id}/messages/${gone.id}`, { token: a.token })).status,
      ).toBe(204);
      await until("the shard has the edit and the delete", async () => {
        await runDurableObjectAlarm(room(id));
        const rows = await rowsOn(shard, id);
        return rows[0]?.edited_at !== null && rows[1]?.deleted_at !== null;
      });
      expect(await rowsOn(shard, id)).toEqual([
        { seq: 1, body: "edited", edited_at: expect.any(String), deleted_at: null },
        { seq: 2, body: "", edited_at: null, deleted_at: expect.any(String) },
      ]);
      expect(await rowsOn(other(shard), id)).toEqual([]);
    }
  });

  it("keeps the rooms of a healthy shard flushing while the other shard fails; the stalled rooms catch up once, losing nothing", async () => {
    const a = await registerUser("Ann", "Outage");
    const b = await registerUser("Bob", "Outage");
    const { SHARD_A: down, SHARD_B: healthy } = await oneOnEachShard(a, b);
    const restore = await breakShard(env.SHARD_A);
    const acked: Record<string, Message[]> = { [down]: [], [healthy]: [] };
    try {
      for (const id of [down, healthy]) {
        const s = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
        await s.next(ofType("ready"));
        for (let i = 0; i < 12; i++) s.send({ type: "send", body: `socket ${i}`, clientId: `s${i}` });
        acked[id]!.push(...(await s.collect(ofType("ack"), 12)).map((e) => e.message as Message));
        s.close();
        acked[id]!.push(await sendMessage(b.token, id, "over REST", "r1"));
      }
      // The healthy shard's room copies everything while the other shard refuses every batch.
      await drainOutbox(healthy, 13);
      expect((await d1MessageRows(healthy)).map((r) => r.seq)).toEqual(acked[healthy]!.map((m) => m.seq));
      await runDurableObjectAlarm(room(down));
      expect(await d1MessageRows(down)).toEqual([]);
      // Acked messages are readable all along: the room serves them from its own log.
      const page = await api("GET", `/api/conversations/${down}/messages?limit=100`, { token: b.token });
      expect(page.body.messages).toHaveLength(13);
      figures.add("shards failed", 1);
    } finally {
      await restore();
    }
    await expectNothingLost(down, a.token, acked[down]!, figures);
    await expectNothingLost(healthy, a.token, acked[healthy]!, figures);
    figures.print();
  });

  it("keeps the history of a conversation from before sharding on HISTORY_0 (its directory database, in such a deployment), and records it", async () => {
    const a = await registerUser("Ann", "Legacy");
    const b = await registerUser("Bob", "Legacy");
    const id = `c_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
    const at = new Date().toISOString();
    // A conversation as the directory had it before sharding: no shard recorded.
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq) VALUES (?, 'group', 'old', NULL, ?, ?, ?, 0)",
      ).bind(id, a.user.id, at, at),
      ...[a, b].map((u) =>
        env.DB.prepare(
          "INSERT INTO participants (conversation_id, user_id, last_read_seq, joined_at) VALUES (?, ?, 0, ?)",
        ).bind(id, u.user.id, at),
      ),
    ]);
    await sendMessage(a.token, id, "still here");
    await drainOutbox(id, 1);
    const legacy = await env.HISTORY_0.prepare("SELECT body FROM messages WHERE conversation_id = ?")
      .bind(id)
      .all();
    expect(legacy.results).toEqual([{ body: "still here" }]);
    expect(await rowsOn("SHARD_A", id)).toEqual([]);
    expect(await rowsOn("SHARD_B", id)).toEqual([]);
    const recorded = () => env.DB.prepare("SELECT shard FROM conversations WHERE id = ?").bind(id).first();
    await until("the directory records the shard", async () => (await recorded())?.shard === "HISTORY_0");
  });
});
