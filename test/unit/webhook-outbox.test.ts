import { describe, expect, it } from "vitest";
import { type WebhookJob, WebhookOutbox } from "../../src/durable/room/webhook-outbox";
import { newId } from "../../src/ids";
import type { Message } from "../../src/protocol/models";
import { WebhookEventSchema } from "../../src/protocol/webhooks";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "./support";

const A = "https://a.example/hooks";
const B = "https://b.example/hooks";
const REDELIVER_MS = 60_000;
const RETRY_MS = 1_000;

/** A room's webhook outbox over real storage, a queue that records (and can refuse) what it is sent. */
function setup(storage: DurableObjectStorage, urls: string[] = [A, B]) {
  const id = newId("c");
  const room = roomWith(storage, [person("u_ann", "Ann"), person("u_bob", "Bob")], { id });
  const { alarm, requests } = recordingAlarm();
  const clock = manualClock();
  const passes: Promise<void>[] = [];
  const sent: WebhookJob[] = [];
  let refuse = 0;
  const queue = {
    send: async (job: WebhookJob) => {
      if (refuse > 0) {
        refuse--;
        throw new Error("queue unavailable");
      }
      sent.push(job);
    },
  };
  const outbox = new WebhookOutbox(
    id,
    storage.sql,
    room.state,
    queue,
    alarm,
    { urls, redeliverMs: REDELIVER_MS, batchEvents: 2, maxBacklog: 5, retryMs: RETRY_MS },
    (p) => passes.push(p),
    clock.now,
  );
  let n = 0;
  /** Records `count` message.updated events (bodies "e1", "e2", …). */
  const events = async (count: number) => {
    for (let i = 0; i < count; i++) {
      n++;
      const message: Message = {
        id: `m_${n}`,
        conversationId: id,
        seq: n,
        sender: person("u_ann", "Ann"),
        body: `e${n}`,
        clientId: null,
        createdAt: new Date(clock.now()).toISOString(),
        editedAt: new Date(clock.now()).toISOString(),
        deletedAt: null,
        replyTo: null,
        reactions: [],
        attachments: [],
        system: false,
      };
      outbox.messageChanged("message.updated", message);
    }
    await settle();
  };
  const settle = async () => {
    while (passes.length > 0) await passes.shift();
  };
  const lastJob = (url: string) => sent.findLast((j) => j.url === url);
  /** The bodies ("e1", …) of a batch as the consumer would get it. */
  const bodies = (url: string, batchId = lastJob(url)?.batchId ?? "") => {
    const batch = outbox.batch(url, batchId);
    return batch?.events
      .map((e) => WebhookEventSchema.parse(JSON.parse(e.body)))
      .map((e) => {
        if (e.type !== "message.updated") throw new Error(e.type);
        return e.data.message.body;
      });
  };
  const stored = () => Number(storage.sql.exec("SELECT count(*) AS n FROM webhook_events").one().n);
  return {
    id,
    outbox,
    clock,
    requests,
    sent,
    events,
    settle,
    lastJob,
    bodies,
    stored,
    refuseNext: (k: number) => (refuse = k),
  };
}

describe("webhook outbox", () => {
  it("keeps one batch in flight per endpoint and enqueues the next once it is reported", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage);
      await t.events(3);
      expect(t.sent.map((j) => j.url)).toEqual([A, B]);
      expect(t.sent.every((j) => j.conversationId === t.id)).toBe(true);
      expect(t.bodies(A)).toEqual(["e1", "e2"]);
      await t.events(1); // nothing new is enqueued while both batches are in flight
      expect(t.sent).toHaveLength(2);
      const first = t.lastJob(A);
      t.outbox.report(A, first?.batchId ?? "", { deliveredThrough: 2 });
      await t.settle();
      expect(t.sent).toHaveLength(3);
      expect(t.bodies(A)).toEqual(["e3", "e4"]);
      // B's batch is untouched by A's progress.
      expect(t.bodies(B)).toEqual(["e1", "e2"]);
    });
  });

  it("serves what is left of a partly delivered batch, and nothing for a superseded one", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      await t.events(2);
      const job = t.lastJob(A);
      t.outbox.report(A, job?.batchId ?? "", { deliveredThrough: 1 });
      await t.settle();
      expect(t.sent).toHaveLength(1);
      expect(t.bodies(A)).toEqual(["e2"]);
      expect(t.outbox.batch(A, "e_not-this-one")).toBeNull();
    });
  });

  it("enqueues a batch again under a new id when nothing was reported within the redelivery time", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      await t.events(2);
      const lost = t.lastJob(A);
      t.clock.advance(REDELIVER_MS - 1);
      t.outbox.due();
      await t.settle();
      expect(t.sent).toHaveLength(1);
      t.clock.advance(1);
      t.outbox.due();
      await t.settle();
      expect(t.sent).toHaveLength(2);
      const again = t.lastJob(A);
      expect(again?.batchId).not.toBe(lost?.batchId);
      expect(t.bodies(A)).toEqual(["e1", "e2"]);
      // The lost message, should it turn up, finds nothing to deliver: no duplicate from it.
      expect(t.outbox.batch(A, lost?.batchId ?? "")).toBeNull();
    });
  });

  it("moves past a batch the dead-letter queue gave up on", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      await t.events(3);
      const doomed = t.lastJob(A);
      t.outbox.report(A, doomed?.batchId ?? "", { abandoned: true });
      await t.settle();
      expect(t.bodies(A)).toEqual(["e3"]);
      // A late give-up of a batch that is no longer in flight changes nothing.
      t.outbox.report(A, doomed?.batchId ?? "", { abandoned: true });
      await t.settle();
      expect(t.bodies(A)).toEqual(["e3"]);
    });
  });

  it("retries on the alarm when the queue refuses a batch", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      t.refuseNext(1);
      await t.events(1);
      expect(t.sent).toHaveLength(0);
      expect(t.requests).toContain(t.clock.now() + RETRY_MS);
      t.clock.advance(RETRY_MS);
      t.outbox.due();
      await t.settle();
      expect(t.bodies(A)).toEqual(["e1"]);
    });
  });

  it("deletes the events every endpoint has had, and numbers new ones after them", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage);
      await t.events(2);
      expect(t.stored()).toBe(2);
      t.outbox.report(A, t.lastJob(A)?.batchId ?? "", { deliveredThrough: 2 });
      await t.settle();
      expect(t.stored()).toBe(2); // B has not had them yet
      t.outbox.report(B, t.lastJob(B)?.batchId ?? "", { deliveredThrough: 2 });
      await t.settle();
      expect(t.stored()).toBe(0);
      await t.events(1);
      expect(t.bodies(A)).toEqual(["e3"]);
      expect(t.bodies(B)).toEqual(["e3"]);
    });
  });

  it("drops the oldest events for an endpoint too far behind, and keeps the order of the rest", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      await t.events(1);
      const stuck = t.lastJob(A);
      await t.events(9); // 10 events, the backlog holds 5
      expect(t.bodies(A, stuck?.batchId)).toEqual([]);
      t.outbox.report(A, stuck?.batchId ?? "", { deliveredThrough: 1 });
      await t.settle();
      expect(t.bodies(A)).toEqual(["e6", "e7"]);
      expect(t.stored()).toBe(5);
    });
  });

  it("records nothing and enqueues nothing without endpoints", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, []);
      await t.events(2);
      t.outbox.participantLeft(person("u_bob", "Bob"));
      await t.settle();
      expect(t.sent).toEqual([]);
      expect(t.stored()).toBe(0);
    });
  });

  it("gives every event its own id and the envelope receivers parse, in the order of the changes", async () => {
    await withStorage(async (storage) => {
      const t = setup(storage, [A]);
      t.outbox.conversationCreated();
      t.outbox.participantsAdded([person("u_cy", "Cy")]);
      t.outbox.participantLeft(person("u_bob", "Bob"));
      await t.settle();
      const all = storage.sql
        .exec("SELECT body FROM webhook_events ORDER BY seq")
        .toArray()
        .map((r) => WebhookEventSchema.parse(JSON.parse(String(r.body))));
      expect(all.map((e) => e.type)).toEqual([
        "conversation.created",
        "participant.added",
        "participant.left",
      ]);
      expect(new Set(all.map((e) => e.id)).size).toBe(3);
      expect(all[0]?.data).toMatchObject({
        conversation: { id: t.id, kind: "group", createdBy: "u_ann" },
      });
      expect(all[2]?.data).toEqual({
        conversationId: t.id,
        user: { id: "u_bob", firstName: "Bob", lastName: "Test", avatarUrl: null },
      });
    });
  });
});
