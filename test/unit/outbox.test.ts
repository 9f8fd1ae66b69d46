import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type MirrorBatch, mirrorConversation } from "../../src/db/mirror";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { Membership } from "../../src/durable/room/membership";
import { type D1Writer, Outbox } from "../../src/durable/room/outbox";
import { RateWindow } from "../../src/durable/room/throttles";
import { directKeyOf, newId } from "../../src/ids";
import type { User } from "../../src/protocol/models";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "./support";

const SETTINGS = { flushMs: 100, retryMs: 2_000, restWaitMs: 50 };

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

/** The real copy to D1, counted, with a fault injected by the test where it wants one. */
function d1Writer(fault?: (call: number, write: () => Promise<void>) => Promise<void>) {
  let calls = 0;
  const write: D1Writer = async (id: string, batch: MirrorBatch) => {
    calls++;
    const real = () => mirrorConversation(env.DB, id, batch);
    await (fault ? fault(calls, real) : real());
  };
  return { write, calls: () => calls };
}

const byUser = (rows: Record<string, unknown>[] | undefined) =>
  new Map((rows ?? []).map((r) => [r.user_id as string, r]));

async function d1Rows(conversationId: string) {
  const [conversation, participants, messages] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare("SELECT kind, title, direct_key, last_seq FROM conversations WHERE id = ?").bind(
      conversationId,
    ),
    env.DB.prepare(
      "SELECT user_id, left_at, hidden_at_seq, last_read_seq FROM participants WHERE conversation_id = ? ORDER BY user_id",
    ).bind(conversationId),
    env.DB.prepare("SELECT seq, body FROM messages WHERE conversation_id = ? ORDER BY seq").bind(
      conversationId,
    ),
  ]);
  return {
    conversation: conversation?.results,
    participants: participants?.results,
    messages: messages?.results,
  };
}

function setup(
  storage: DurableObjectStorage,
  people: User[],
  write: D1Writer,
  kind: "direct" | "group" = "group",
) {
  const id = newId("c");
  const room = roomWith(storage, people, { id, kind });
  const { alarm, requests } = recordingAlarm();
  const clock = manualClock();
  const passes: Promise<void>[] = [];
  const outbox = new Outbox(id, room.store, write, alarm, SETTINGS, (p) => passes.push(p), clock.now);
  const commits = new GroupCommit(
    room.store,
    room.state,
    new RateWindow(1000),
    4000,
    { markAll: () => undefined },
    () => undefined,
  );
  const membership = new Membership(room.store, room.state, 1000, () => outbox.membershipChanged());
  return { id, ...room, membership, outbox, commits, alarmRequests: requests, clock };
}

describe("outbox to D1", () => {
  it("copies a new conversation, its participants and its messages in one batch, then has nothing left", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writer();
    await withStorage(async (storage) => {
      const { id, outbox, commits } = setup(storage, people, d1.write, "direct");
      commits.sendNow(people[0]!.id, "hello", null);
      commits.sendNow(people[1]!.id, "hi", null);
      await outbox.flush();
      expect(d1.calls()).toBe(1);
      expect(await d1Rows(id)).toEqual({
        conversation: [
          { kind: "direct", title: null, direct_key: directKeyOf(people[0]!.id, people[1]!.id), last_seq: 2 },
        ],
        participants: people
          .map((p, i) => ({ user_id: p.id, left_at: null, hidden_at_seq: null, last_read_seq: i + 1 }))
          .sort((a, b) => (a.user_id < b.user_id ? -1 : 1)),
        messages: [
          { seq: 1, body: "hello" },
          { seq: 2, body: "hi" },
        ],
      });
      await outbox.flush();
      expect(d1.calls()).toBe(1);
    });
  });

  it("socket writes wait for the alarm: one pass per OUTBOX_FLUSH_MS, none while a pass runs", async () => {
    const people = await directoryUsers(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d1 = d1Writer(async (_call, write) => {
      await gate;
      await write();
    });
    await withStorage(async (storage) => {
      const { outbox, alarmRequests, clock } = setup(storage, people, d1.write);
      outbox.queue();
      outbox.queue();
      expect(alarmRequests).toEqual([clock.now() + SETTINGS.flushMs]);
      const pass = outbox.flush();
      outbox.queue(); // the running pass takes whatever is written meanwhile
      expect(alarmRequests).toHaveLength(1);
      release();
      await pass;
    });
  });

  it("keeps the rows when D1 refuses a batch, asks the alarm to retry, and copies them once later", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writer(async (call, write) => {
      if (call === 1) throw new Error("D1 refused the batch (injected)");
      await write();
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits, alarmRequests, clock } = setup(storage, people, d1.write);
      commits.sendNow(people[0]!.id, "during the outage", "o1");
      await outbox.flush();
      expect(alarmRequests).toContain(clock.now() + SETTINGS.retryMs);
      expect((await d1Rows(id)).messages).toEqual([]);
      await outbox.flush();
      expect((await d1Rows(id)).messages).toEqual([{ seq: 1, body: "during the outage" }]);
      expect(d1.calls()).toBe(2);
    });
  });

  it("duplicates nothing when D1 committed a batch but the reply was lost", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writer(async (call, write) => {
      await write();
      if (call <= 2) throw new Error("D1 reply lost after commit (injected)");
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits } = setup(storage, people, d1.write);
      for (let i = 1; i <= 8; i++) commits.sendNow(people[0]!.id, `committed ${i}`, `c${i}`);
      await outbox.flush(); // applied, reported failed
      await outbox.flush(); // the same rows again, applied again, reported failed
      await outbox.flush(); // and once more, reported done
      expect(d1.calls()).toBe(3);
      const rows = await d1Rows(id);
      expect(rows.messages?.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rows.participants).toHaveLength(2);
      expect(rows.conversation).toHaveLength(1);
    });
  });

  it("lets commits go on while D1 is slow; rows written meanwhile land too, each once", async () => {
    const people = await directoryUsers(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d1 = d1Writer(async (call, write) => {
      if (call === 1) await gate;
      await write();
    });
    await withStorage(async (storage) => {
      const { id, outbox, commits } = setup(storage, people, d1.write);
      const first = commits.sendNow(people[0]!.id, "before", null);
      const pass = outbox.flush();
      // D1 has not answered: the room keeps committing (nothing on the send path waits for D1).
      const second = commits.sendNow(people[1]!.id, "while slow", null);
      commits.edit(people[0]!.id, first.own.message.id, "before, edited");
      expect(second.own.message.seq).toBe(2);
      release();
      await pass;
      expect((await d1Rows(id)).messages).toEqual([
        { seq: 1, body: "before, edited" },
        { seq: 2, body: "while slow" },
      ]);
      await outbox.flush();
      expect(d1.calls()).toBe(2);
    });
  });

  it("answers a REST write within REST_MIRROR_WAIT_MS even when D1 does not answer", async () => {
    const people = await directoryUsers(2);
    const d1 = d1Writer(() => new Promise<void>(() => undefined));
    await withStorage(async (storage) => {
      const { outbox, commits } = setup(storage, people, d1.write);
      commits.sendNow(people[0]!.id, "durable here already", null);
      await outbox.flushForRest();
      expect(d1.calls()).toBe(1);
    });
  });

  it("copies membership changes: a leave, a hide, a member added back", async () => {
    const people = await directoryUsers(3);
    const d1 = d1Writer();
    await withStorage(async (storage) => {
      const { id, outbox, membership, state } = setup(storage, people, d1.write);
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
    });
  });
});
