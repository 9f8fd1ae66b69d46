import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type HistoryBatch, mirrorHistory, mirrorMembership } from "../../src/db/mirror";
import { DEFAULT_SHARD, shardDb } from "../../src/db/shards";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { Membership } from "../../src/durable/room/membership";
import { Outbox, type OutboxWriters } from "../../src/durable/room/outbox";
import { OutboxLog } from "../../src/durable/room/outbox-log";
import { RateWindow } from "../../src/durable/room/throttles";
import { directKeyOf, newId } from "../../src/ids";
import { NO_METRICS } from "../../src/observability/metrics";
import type { User } from "../../src/protocol/models";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "./support";

const SETTINGS = {
  flushMs: 100,
  retryMs: 2_000,
  restWaitMs: 50,
  batchMaxBytes: 65_536,
  batchMaxRows: 500,
  logTail: 0,
};

/** This project's one shard: the default layout, where it is the directory database too. */
const shard = () => shardDb(env, DEFAULT_SHARD);

/** Users D1's directory knows (participants and messages refer to them). */
async function directoryUsers(n: number): Promise<User[]> {
  const users = Array.from({ length: n }, (_, i) => person(newId("u"), `Unit${i}`));
  await env.DB.batch(
    users.map((u) =>
      env.DB.prepare(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, avatar_url, created_at) VALUES (?, ?, 'x', ?, ?, NULL, ?)",
      ).bind(u.id, `${u.id}@example.com`, u.firstName, u.lastName, new Date().toISOString()),
    ),
  );
  return users;
}

/** The real copies to D1, counted and recorded, with a fault injected by the test where it wants one. */
function d1Writers(fault?: (call: number, write: () => Promise<void>) => Promise<void>) {
  let calls = 0;
  const history: HistoryBatch[] = [];
  let membership = 0;
  const writers: OutboxWriters = {
    membership: async (id, batch) => {
      membership++;
      await mirrorMembership(env.DB, id, batch, NO_METRICS);
    },
    history: async (name, id, batch) => {
      calls++;
      history.push(batch);
      const real = () => mirrorHistory(shardDb(env, name), id, batch, NO_METRICS);
      await (fault ? fault(calls, real) : real());
    },
  };
  return { writers, calls: () => calls, batches: history, membershipCalls: () => membership };
}

const byUser = (rows: Record<string, unknown>[] | undefined) =>
  new Map((rows ?? []).map((r) => [r.user_id as string, r]));

async function d1Rows(conversationId: string) {
  const [conversation, participants] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare("SELECT kind, title, direct_key, last_seq, shard FROM conversations WHERE id = ?").bind(
      conversationId,
    ),
    env.DB.prepare(
      "SELECT user_id, left_at, hidden_at_seq, last_read_seq FROM participants WHERE conversation_id = ? ORDER BY user_id",
    ).bind(conversationId),
  ]);
  const [messages, reads] = await shard().batch<Record<string, unknown>>([
    shard()
      .prepare("SELECT seq, body FROM messages WHERE conversation_id = ? ORDER BY seq")
      .bind(conversationId),
    shard()
      .prepare("SELECT user_id, last_read_seq FROM read_positions WHERE conversation_id = ? ORDER BY user_id")
      .bind(conversationId),
  ]);
  return {
    conversation: conversation?.results,
    participants: participants?.results,
    messages: messages?.results,
    reads: reads?.results,
  };
}

function setup(
  storage: DurableObjectStorage,
  people: User[],
  writers: OutboxWriters,
  kind: "direct" | "group" = "group",
) {
  const id = newId("c");
  const room = roomWith(storage, people, { id, kind });
  const { alarm, requests } = recordingAlarm();
  const clock = manualClock();
  const passes: Promise<void>[] = [];
  const log = new OutboxLog(room.store);
  const outbox = new Outbox(
    room.state,
    room.store,
    log,
    writers,
    alarm,
    SETTINGS,
    (p) => passes.push(p),
    clock.now,
  );
  const commits = new GroupCommit(
    room.store,
    room.state,
    new RateWindow(1000),
    4000,
    { markAll: () => undefined },
    () => undefined,
  );
  const membership = new Membership(room.store, room.state, 1000, () => outbox.membershipChanged(), [
    DEFAULT_SHARD,
  ]);
  /** The alarm's pass once the next slot has come. */
  const nextSlot = async () => {
    clock.advance(SETTINGS.flushMs);
    await outbox.flush();
  };
  return { id, ...room, membership, outbox, log, commits, alarmRequests: requests, clock, nextSlot };
}

describe("outbox to D1", () => {
  it("copies a new conversation to the directory and its messages to its shard, nothing per message to the directory", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers();
    await withStorage(async (storage) => {
      const { id, outbox, commits, store } = setup(storage, people, d1.writers, "direct");
      commits.sendNow(people[0]!.id, "hello", null);
      commits.sendNow(people[1]!.id, "hi", null);
      // The room's signals window stores the senders' positions (signals.test.ts).
      store.storeReads(people.map((p, i) => ({ userId: p.id, lastReadSeq: i + 1 })));
      await outbox.flush();
      expect(d1.membershipCalls()).toBe(1);
      expect(d1.calls()).toBe(1);
      expect(await d1Rows(id)).toEqual({
        conversation: [
          {
            kind: "direct",
            title: null,
            direct_key: directKeyOf(people[0]!.id, people[1]!.id),
            // The directory is not written per message: its activity columns stay as created.
            last_seq: 0,
            shard: DEFAULT_SHARD,
          },
        ],
        participants: people
          .map((p, i) => ({ user_id: p.id, left_at: null, hidden_at_seq: null, last_read_seq: i + 1 }))
          .sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
        messages: [
          { seq: 1, body: "hello" },
          { seq: 2, body: "hi" },
        ],
        // Sending reads up to one's own message: the stored positions rode in the messages' batch.
        reads: people
          .map((p, i) => ({ user_id: p.id, last_read_seq: i + 1 }))
          .sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
      });
      await outbox.flush();
      expect(d1.calls()).toBe(1);
      expect(d1.membershipCalls()).toBe(1);
    });
  });

  it("sends at most one history batch per OUTBOX_FLUSH_MS however busy the room is", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers();
    await withStorage(async (storage) => {
      const { outbox, commits, alarmRequests, clock, nextSlot } = setup(storage, people, d1.writers);
      outbox.queue();
      outbox.queue();
      expect(alarmRequests).toEqual([clock.now() + SETTINGS.flushMs]);
      commits.sendNow(people[0]!.id, "one", null);
      await outbox.flush();
      expect(d1.calls()).toBe(1);
      // More writes within the interval: the alarm's pass leaves them for the next slot.
      commits.sendNow(people[1]!.id, "two", null);
      commits.sendNow(people[0]!.id, "three", null);
      outbox.queue();
      await outbox.flush();
      expect(d1.calls()).toBe(1);
      expect(alarmRequests.at(-1)).toBe(clock.now() + SETTINGS.flushMs);
      await nextSlot();
      expect(d1.calls()).toBe(2);
      expect(d1.batches[1]?.messageCount).toBe(2);
    });
  });

  it("keeps the rows when D1 refuses a batch, asks the alarm to retry, and copies them once later", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers(async (call, write) => {
      if (call === 1) throw new Error("D1 refused the batch (injected)");
      await write();
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits, alarmRequests, clock, nextSlot } = setup(storage, people, d1.writers);
      commits.sendNow(people[0]!.id, "during the outage", "o1");
      await outbox.flush();
      expect(alarmRequests).toContain(clock.now() + SETTINGS.retryMs);
      expect((await d1Rows(id)).messages).toEqual([]);
      await nextSlot();
      expect((await d1Rows(id)).messages).toEqual([{ seq: 1, body: "during the outage" }]);
      expect(d1.calls()).toBe(2);
    });
  });

  it("duplicates nothing when D1 committed a batch but the reply was lost", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers(async (call, write) => {
      await write();
      if (call <= 2) throw new Error("D1 reply lost after commit (injected)");
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits, nextSlot } = setup(storage, people, d1.writers);
      for (let i = 1; i <= 8; i++) commits.sendNow(people[0]!.id, `committed ${i}`, `c${i}`);
      await outbox.flush(); // applied, reported failed
      await nextSlot(); // the same rows again, applied again, reported failed
      await nextSlot(); // and once more, reported done
      await nextSlot(); // nothing left
      expect(d1.calls()).toBe(3);
      const rows = await d1Rows(id);
      expect(rows.messages?.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rows.participants).toHaveLength(2);
      expect(rows.conversation).toHaveLength(1);
    });
  });

  it("lets commits go on while D1 is slow; rows written meanwhile, and an edit of a row in flight, land too", async () => {
    const people = await directoryUsers(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const d1 = d1Writers(async (call, write) => {
      if (call === 1) {
        started();
        await gate;
      }
      await write();
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits, nextSlot } = setup(storage, people, d1.writers);
      const first = commits.sendNow(people[0]!.id, "before", null);
      const pass = outbox.flush();
      await inFlight; // the batch with "before" is on its way
      // D1 has not answered: the room keeps committing (nothing on the send path waits for D1).
      const second = commits.sendNow(people[1]!.id, "while slow", null);
      commits.edit(people[0]!.id, first.own.message.id, "before, edited");
      expect(second.own.message.seq).toBe(2);
      release();
      await pass;
      expect((await d1Rows(id)).messages).toEqual([{ seq: 1, body: "before" }]);
      await nextSlot();
      expect((await d1Rows(id)).messages).toEqual([
        { seq: 1, body: "before, edited" },
        { seq: 2, body: "while slow" },
      ]);
      await nextSlot();
      expect(d1.calls()).toBe(2);
    });
  });

  it("answers a REST write within REST_MIRROR_WAIT_MS even when D1 does not answer", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers(() => new Promise<void>(() => undefined));
    await withStorage(async (storage) => {
      const { outbox, commits } = setup(storage, people, d1.writers);
      commits.sendNow(people[0]!.id, "durable here already", null);
      await outbox.flushForRest();
      expect(d1.calls()).toBe(1);
    });
  });

  it("copies membership changes: a leave, a hide, a member added back", async () => {
    const people = await directoryUsers(3);
    const d1 = d1Writers();
    await withStorage(async (storage) => {
      const { id, outbox, membership, state } = setup(storage, people, d1.writers);
      await outbox.flush();
      const [a, b, c] = people as [User, User, User];
      membership.leave(state.requireMember(c.id));
      membership.hide(state.requireMember(b.id));
      await outbox.flush();
      let rows = byUser((await d1Rows(id)).participants);
      expect(rows.get(a.id)).toMatchObject({ left_at: null, hidden_at_seq: null });
      expect(rows.get(b.id)).toMatchObject({ left_at: null, hidden_at_seq: 0 });
      expect(rows.get(c.id)).toMatchObject({ left_at: expect.any(String) });
      membership.add([c]);
      await outbox.flush();
      rows = byUser((await d1Rows(id)).participants);
      expect(rows.get(c.id)).toMatchObject({ left_at: null, hidden_at_seq: null });
      expect(d1.calls()).toBe(0);
    });
  });

  it("carries read positions in the messages' batch, and a read alone in a batch of its own", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writers();
    await withStorage(async (storage) => {
      const { id, outbox, commits, store, nextSlot } = setup(storage, people, d1.writers);
      const [a, b] = people as [User, User];
      commits.sendNow(a.id, "one", null);
      commits.sendNow(a.id, "two", null);
      // What a signals window stores: the sender's implied position and a reader's.
      store.storeReads([
        { userId: a.id, lastReadSeq: 2 },
        { userId: b.id, lastReadSeq: 1 },
      ]);
      await outbox.flush();
      expect(d1.calls()).toBe(1);
      expect(d1.batches[0]).toMatchObject({ messageCount: 2, readCount: 2 });
      store.storeReads([{ userId: b.id, lastReadSeq: 2 }]);
      await nextSlot();
      expect(d1.batches[1]).toMatchObject({ messageCount: 0, readCount: 1 });
      expect((await d1Rows(id)).reads).toEqual(
        [
          { user_id: a.id, last_read_seq: 2 },
          { user_id: b.id, last_read_seq: 2 },
        ].sort((x, y) => (x.user_id < y.user_id ? -1 : 1)),
      );
    });
  });
});
