import { describe, expect, it } from "vitest";
import { type Inboxes, InboxNotifier } from "../../src/durable/room/inbox-notifier";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { RateWindow } from "../../src/durable/room/throttles";
import type { InboxEvent } from "../../src/protocol/frames";
import { ConversationSchema } from "../../src/protocol/models";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "./support";

const ann = person("u_ann", "Ann");
const bob = person("u_bob", "Bob");
const cy = person("u_cy", "Cy");

/** Inboxes that record what each user would receive. */
function recordingInboxes(): Inboxes & { received: Map<string, InboxEvent[]> } {
  const received = new Map<string, InboxEvent[]>();
  const add = (userId: string, events: InboxEvent[]): void => {
    received.set(userId, [...(received.get(userId) ?? []), ...events]);
  };
  return {
    received,
    deliver: async (userId, frames) =>
      add(
        userId,
        frames.map((f) => JSON.parse(f) as InboxEvent),
      ),
    notify: async (userId, events) => add(userId, events),
  };
}

function setup(storage: DurableObjectStorage, windowMs = 250) {
  const room = roomWith(storage, [ann, bob, cy]);
  const inboxes = recordingInboxes();
  const { alarm, requests } = recordingAlarm();
  const clock = manualClock();
  const notifier = new InboxNotifier(room.store, room.state, inboxes, alarm, windowMs, clock.now);
  const commits = new GroupCommit(
    room.store,
    room.state,
    new RateWindow(1000),
    4000,
    notifier,
    () => undefined,
  );
  return { ...room, inboxes, notifier, commits, alarmRequests: requests, clock };
}

describe("inbox notifier", () => {
  it("coalesces a window's activity into one notice per member, with the latest state", async () => {
    await withStorage(async (storage) => {
      const { notifier, commits, inboxes, alarmRequests, clock } = setup(storage);
      const start = clock.now();
      for (let i = 1; i <= 10; i++) {
        commits.sendNow(ann.id, `burst ${i}`, null);
        notifier.queue("all");
        clock.advance(10);
      }
      expect(alarmRequests).toEqual([start + 250]);
      // The alarm fires early (another clock asked for it): not due yet, it asks again.
      await notifier.sendIfDue();
      expect(inboxes.received.size).toBe(0);
      expect(alarmRequests.at(-1)).toBe(start + 250);
      clock.advance(250);
      await notifier.sendIfDue();
      for (const user of [ann, bob, cy]) {
        const events = inboxes.received.get(user.id) ?? [];
        expect(events).toHaveLength(1);
        expect(events[0]?.type).toBe("conversation.updated");
      }
      const forBob = inboxes.received.get(bob.id)?.[0];
      expect(
        forBob?.type === "conversation.updated" && ConversationSchema.parse(forBob.conversation),
      ).toMatchObject({
        lastSeq: 10,
        unreadCount: 10,
        lastMessage: { body: "burst 10" },
      });
      // Ann sent them all: nothing unread for her.
      const forAnn = inboxes.received.get(ann.id)?.[0];
      expect(forAnn?.type === "conversation.updated" && forAnn.conversation.unreadCount).toBe(0);
      // Nothing new: the next alarm tells nobody.
      await notifier.sendIfDue();
      expect(inboxes.received.get(bob.id)).toHaveLength(1);
    });
  });

  it("tells only the members named, for a read that changed only their state", async () => {
    await withStorage(async (storage) => {
      const { notifier, inboxes, clock } = setup(storage, 0);
      notifier.queue([bob.id]);
      clock.advance(1);
      await notifier.sendIfDue();
      expect([...inboxes.received.keys()]).toEqual([bob.id]);
    });
  });

  it("waits at least 2 ms per member between notices of a large group", async () => {
    await withStorage(async (storage) => {
      const { notifier, alarmRequests, clock } = setup(storage, 1);
      notifier.queue("all");
      expect(alarmRequests).toEqual([clock.now() + 2 * 3]);
    });
  });

  it("keeps the pending notice in storage: a room woken after an eviction sends it at once", async () => {
    await withStorage(async (storage) => {
      const first = setup(storage);
      first.commits.sendNow(ann.id, "before the eviction", null);
      first.notifier.queue("all");
      // A new notifier over the same storage is what the room builds after a wake-up.
      const inboxes = recordingInboxes();
      const { alarm } = recordingAlarm();
      const woken = new InboxNotifier(first.store, first.state, inboxes, alarm, 250, first.clock.now);
      await woken.sendIfDue();
      expect([...inboxes.received.keys()].sort()).toEqual([ann.id, bob.id, cy.id].sort());
    });
  });

  it("announces a new conversation to members only, each with their own read state", async () => {
    await withStorage(async (storage) => {
      const { notifier, inboxes } = setup(storage);
      await notifier.announceCreated([bob.id, "u_stranger"]);
      expect([...inboxes.received.keys()]).toEqual([bob.id]);
      expect(inboxes.received.get(bob.id)?.[0]).toMatchObject({
        type: "conversation.created",
        conversation: { kind: "group", unreadCount: 0 },
      });
      await notifier.announceRemoved(cy.id);
      expect(inboxes.received.get(cy.id)).toEqual([
        { type: "conversation.removed", conversationId: expect.stringMatching(/^c_/) },
      ]);
    });
  });
});
