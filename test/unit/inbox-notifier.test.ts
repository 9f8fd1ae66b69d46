import { describe, expect, it } from "vitest";
import { type Inboxes, InboxNotifier } from "../../src/durable/room/inbox-notifier";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { RateWindow } from "../../src/durable/room/throttles";
import type { InboxNotice, MemberNotice } from "../../src/durable/inbox/notice";
import { type Conversation, ConversationSchema } from "../../src/protocol/models";
import { manualClock, person, recordingAlarm, roomWith, withStorage } from "./support";

const ann = person("u_ann", "Ann");
const bob = person("u_bob", "Bob");
const cy = person("u_cy", "Cy");

/** Inboxes that record what each user's inbox took, and refuse it for the users in `failing`. */
function recordingInboxes(): Inboxes & { received: Map<string, InboxNotice[]>; failing: Set<string> } {
  const received = new Map<string, InboxNotice[]>();
  const failing = new Set<string>();
  return {
    received,
    failing,
    apply: async (userId, notices) => {
      if (failing.has(userId)) throw new Error("inbox unavailable");
      received.set(userId, [...(received.get(userId) ?? []), ...notices]);
    },
  };
}

const SETTINGS = { windowMs: 250, msPerMember: 2, retryMs: 2000, restWaitMs: 1000 };

function setup(storage: DurableObjectStorage, windowMs = 250) {
  const room = roomWith(storage, [ann, bob, cy]);
  const inboxes = recordingInboxes();
  const { alarm, requests } = recordingAlarm();
  const clock = manualClock();
  const settings = { ...SETTINGS, windowMs };
  const notifier = new InboxNotifier(room.store, room.state, inboxes, alarm, settings, undefined, clock.now);
  const commits = new GroupCommit(
    room.store,
    room.state,
    new RateWindow(1000),
    4000,
    notifier,
    () => undefined,
  );
  /** What the room's alarm handler does: the schedule forgets the alarm that fired, then the notifier runs. */
  const alarmFires = async (): Promise<void> => {
    alarm.fired();
    await notifier.sendIfDue();
  };
  return { ...room, inboxes, notifier, commits, alarmRequests: requests, clock, settings, alarmFires };
}

function memberNotice(notice: InboxNotice | undefined): MemberNotice {
  if (notice?.state !== "visible" && notice?.state !== "hidden") throw new Error("not a member notice");
  return notice;
}

/** The Conversation a notice carries, checked against the API's schema. */
const conversationOf = (notice: InboxNotice | undefined): Conversation =>
  ConversationSchema.parse(JSON.parse(memberNotice(notice).conversation));

/** The bytes of each member's notice when a group of `size` people is announced. */
const noticeBytes = async (size: number): Promise<number[]> =>
  withStorage(async (storage) => {
    const people = Array.from({ length: size }, (_, i) => person(`u_${String(i).padStart(4, "0")}`));
    const room = roomWith(storage, people);
    const inboxes = recordingInboxes();
    const notifier = new InboxNotifier(room.store, room.state, inboxes, recordingAlarm().alarm, SETTINGS);
    await notifier.announceCreated(people.map((p) => p.id));
    expect(inboxes.received.size).toBe(size);
    const last = conversationOf(inboxes.received.get(people.at(-1)!.id)?.[0]);
    expect(last.participantCount).toBe(size);
    expect(last.participants).toHaveLength(10);
    return [...inboxes.received.values()].map((n) => memberNotice(n[0]).conversation.length);
  });

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
      for (const user of [ann, bob, cy]) expect(inboxes.received.get(user.id)).toHaveLength(1);
      const forBob = memberNotice(inboxes.received.get(bob.id)?.[0]);
      expect(forBob).toMatchObject({ state: "visible", event: "updated", lastSeq: 10, unreadCount: 10 });
      expect(conversationOf(forBob)).toMatchObject({
        lastSeq: 10,
        unreadCount: 10,
        participantCount: 3,
        lastMessage: { body: "burst 10" },
      });
      // Ann sent them all: nothing unread for her.
      expect(conversationOf(inboxes.received.get(ann.id)?.[0]).unreadCount).toBe(0);
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

  it("lets a reader ride with a notice to everyone that is due, but not with one already under way", async () => {
    await withStorage(async (storage) => {
      const { notifier, commits, inboxes, clock, state, store, alarmFires } = setup(storage, 0);
      commits.sendNow(ann.id, "one", null);
      notifier.queue("all");
      state.moveRead(state.requireMember(bob.id), 1);
      notifier.queue([bob.id]);
      expect(store.inboxPending()).toEqual([]); // no row of its own: the notice to all carries it
      clock.advance(10);
      await alarmFires();
      expect(memberNotice(inboxes.received.get(bob.id)?.at(-1))).toMatchObject({ lastReadSeq: 1 });

      // A read that arrives while the notices to everyone are being sent was not in them.
      const opener: { open?: () => void } = {};
      const gate = new Promise<void>((resolve) => {
        opener.open = resolve;
      });
      const apply = inboxes.apply;
      inboxes.apply = async (userId, notices) => {
        await gate;
        await apply(userId, notices);
      };
      commits.sendNow(ann.id, "two", null);
      notifier.queue("all");
      clock.advance(10);
      const sending = alarmFires();
      state.moveRead(state.requireMember(bob.id), 2);
      notifier.queue([bob.id]);
      opener.open?.();
      await sending;
      expect(memberNotice(inboxes.received.get(bob.id)?.at(-1))).toMatchObject({ lastReadSeq: 1 });
      expect(store.inboxPending()).toEqual([bob.id]);
      clock.advance(10);
      await alarmFires();
      expect(memberNotice(inboxes.received.get(bob.id)?.at(-1))).toMatchObject({ lastReadSeq: 2 });
    });
  });

  it("waits at least INBOX_NOTIFY_MS_PER_MEMBER (2 ms here) per member between notices of a large group", async () => {
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
      const woken = new InboxNotifier(
        first.store,
        first.state,
        inboxes,
        alarm,
        SETTINGS,
        undefined,
        first.clock.now,
      );
      await woken.sendIfDue();
      expect([...inboxes.received.keys()].sort()).toEqual([ann.id, bob.id, cy.id].sort());
    });
  });

  it("announces a new conversation to members only, each with their own read state", async () => {
    await withStorage(async (storage) => {
      const { notifier, inboxes } = setup(storage);
      await notifier.announceCreated([bob.id, "u_stranger"]);
      expect([...inboxes.received.keys()]).toEqual([bob.id]);
      expect(memberNotice(inboxes.received.get(bob.id)?.[0]).event).toBe("created");
      expect(conversationOf(inboxes.received.get(bob.id)?.[0])).toMatchObject({
        kind: "group",
        unreadCount: 0,
      });
    });
  });

  it("announces a large group with notices of one size whatever the group's: linear work, not quadratic", async () => {
    // Each notice names the first INBOX_PARTICIPANTS people and counts the rest: 4 times the people,
    // the same bytes per notice (the counts have as many digits), so 4 times the bytes in all.
    const sizes = new Set([...(await noticeBytes(100)), ...(await noticeBytes(400))]);
    expect(sizes.size).toBe(1);
  });

  it("tells a member who left that they left, and numbers every notice higher than the one before", async () => {
    await withStorage(async (storage) => {
      const { notifier, inboxes, membership, state, commits } = setup(storage);
      commits.sendNow(ann.id, "hello", null);
      await notifier.tellNow([cy.id]);
      const member = state.members.get(cy.id);
      if (!member) throw new Error("cy is a member");
      membership.leave(member);
      await notifier.announceRemoved(cy.id);
      const [before, after] = inboxes.received.get(cy.id) ?? [];
      expect(before?.state).toBe("visible");
      expect(after).toEqual({ conversationId: state.id, version: expect.any(Number), state: "left" });
      expect(after?.version).toBeGreaterThan(before?.version ?? Infinity);
    });
  });

  it("keeps a notice an inbox refused and sends it again after INBOX_RETRY_MS, with the state of then", async () => {
    await withStorage(async (storage) => {
      const { notifier, commits, inboxes, clock, alarmRequests, settings, alarmFires } = setup(storage, 0);
      inboxes.failing.add(bob.id);
      commits.sendNow(ann.id, "one", null);
      notifier.queue("all");
      clock.advance(10); // past the window (2 ms per member)
      await alarmFires();
      expect(inboxes.received.has(bob.id)).toBe(false);
      expect(inboxes.received.get(cy.id)).toHaveLength(1);
      const retryAt = clock.now() + settings.retryMs;
      expect(alarmRequests.at(-1)).toBe(retryAt);
      // Still failing on the retry: still due.
      clock.advance(settings.retryMs);
      await alarmFires();
      expect(inboxes.received.has(bob.id)).toBe(false);
      inboxes.failing.delete(bob.id);
      commits.sendNow(ann.id, "two", null);
      clock.advance(settings.retryMs);
      await alarmFires();
      const [caughtUp] = inboxes.received.get(bob.id) ?? [];
      expect(conversationOf(caughtUp)).toMatchObject({ lastSeq: 2, lastMessage: { body: "two" } });
      // Nobody is due any more.
      await alarmFires();
      expect(inboxes.received.get(bob.id)).toHaveLength(1);
    });
  });

  it("keeps a caller's inbox due when a REST call's notice failed, for the alarm to retry", async () => {
    await withStorage(async (storage) => {
      const { notifier, inboxes, clock, settings, alarmFires } = setup(storage, 0);
      inboxes.failing.add(ann.id);
      await notifier.tellNow([ann.id]);
      expect(inboxes.received.has(ann.id)).toBe(false);
      inboxes.failing.delete(ann.id);
      clock.advance(settings.retryMs);
      await alarmFires();
      expect(inboxes.received.get(ann.id)).toHaveLength(1);
      expect([...inboxes.received.keys()]).toEqual([ann.id]);
    });
  });
});
