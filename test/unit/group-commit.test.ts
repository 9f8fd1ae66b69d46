import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { RateWindow } from "../../src/durable/room/throttles";
import { person, roomWith, withStorage } from "./support";

const ann = person("u_ann", "Ann");
const bob = person("u_bob", "Bob");

/** A group commit over a fresh room of Ann and Bob; records the inbox marks and group timers. */
function setup(storage: DurableObjectStorage, rateLimit = 1000) {
  const room = roomWith(storage, [ann, bob]);
  const marks = { inboxes: 0, groupsDue: 0 };
  const commits = new GroupCommit(
    room.store,
    room.state,
    new RateWindow(rateLimit),
    50,
    { markAll: () => marks.inboxes++ },
    () => marks.groupsDue++,
  );
  return { ...room, commits, marks };
}

describe("group commit", () => {
  it("numbers a group of sends in the order accepted and stores them in one commit", async () => {
    await withStorage(async (storage) => {
      const { commits, state, store, marks } = setup(storage);
      commits.accept(ann.id, "one", "a1", null);
      commits.accept(bob.id, " two ", "b1", null);
      commits.accept(ann.id, "three", null, null);
      // Nothing is stored before the commit; the group's timer was started once.
      expect(store.lastSeq()).toBe(0);
      await new Promise((r) => setTimeout(r, 0));
      expect(marks.groupsDue).toBe(1);
      const group = commits.commit();
      expect(group.stored).toBe(3);
      expect(group.sends.map((s) => [s.message.seq, s.message.body, s.created, s.clientId])).toEqual([
        [1, "one", true, "a1"],
        [2, "two", true, "b1"],
        [3, "three", true, null],
      ]);
      expect(state.lastSeq).toBe(3);
      expect(store.messagesAfter(0, 10).map((m) => m.body)).toEqual(["one", "two", "three"]);
      expect(marks.inboxes).toBe(1);
      // The group is closed: committing again finds nothing.
      expect(commits.commit()).toEqual({ sends: [], stored: 0 });
    });
  });

  it("answers a used clientId with the original message, in the same group or a later one", async () => {
    await withStorage((storage) => {
      const { commits, store } = setup(storage);
      commits.accept(ann.id, "first", "same", null);
      commits.accept(ann.id, "first again", "same", null);
      commits.accept(bob.id, "bob's own", "same", null); // a clientId is scoped to its sender
      const group = commits.commit();
      expect(group.stored).toBe(2);
      const [first, again, bobs] = group.sends;
      expect(again?.created).toBe(false);
      expect(again?.message).toEqual(first?.message);
      expect(bobs).toMatchObject({ created: true, message: { seq: 2 } });
      const later = commits.sendNow(ann.id, "once more", "same");
      expect(later.own).toMatchObject({ created: false, message: { id: first?.message.id, body: "first" } });
      expect(later.group.stored).toBe(0);
      expect(store.lastSeq()).toBe(2);
    });
  });

  it("commits a REST send at once with the sends queued before it, and returns its own", async () => {
    await withStorage((storage) => {
      const { commits } = setup(storage);
      commits.accept(bob.id, "queued", "q", null);
      const { group, own } = commits.sendNow(ann.id, "rest", null);
      expect(group.sends).toHaveLength(2);
      expect(own).toMatchObject({ created: true, from: null, message: { seq: 2, body: "rest" } });
    });
  });

  it("moves the senders' read positions in memory and stores nothing but the messages", async () => {
    await withStorage((storage) => {
      const { commits, state, store } = setup(storage);
      commits.sendNow(ann.id, "hello", null);
      commits.sendNow(bob.id, "hi", null);
      expect(state.members.get(ann.id)?.lastReadSeq).toBe(1);
      expect(state.members.get(bob.id)?.lastReadSeq).toBe(2);
      // Stored with the room's next signals window (signals.test.ts), not one write per group.
      expect(store.dirtyReads()).toEqual([]);
    });
  });

  it("refuses empty and over-long bodies before queueing anything", async () => {
    await withStorage((storage) => {
      const { commits } = setup(storage);
      expect(() => commits.accept(ann.id, "   ", "e", null)).toThrow(
        expect.objectContaining({ code: "validation_failed" }),
      );
      // Characters are code points: 50 emoji fit, 51 do not.
      commits.accept(ann.id, "😀".repeat(50), "fits", null);
      expect(() => commits.accept(ann.id, "😀".repeat(51), "long", null)).toThrow(ApiError);
      expect(commits.commit().stored).toBe(1);
    });
  });

  it("edits and deletes only one's own messages; a tombstone cannot be edited or deleted again", async () => {
    await withStorage((storage) => {
      const { commits, store } = setup(storage);
      const { own } = commits.sendNow(ann.id, "draft", null);
      expect(() => commits.edit(bob.id, own.message.id, "mine now")).toThrow(
        expect.objectContaining({ code: "forbidden" }),
      );
      expect(() => commits.edit(ann.id, "m_nope", "x")).toThrow(
        expect.objectContaining({ code: "not_found" }),
      );
      expect(commits.edit(ann.id, own.message.id, "final")).toMatchObject({
        body: "final",
        editedAt: expect.any(String),
      });
      const removed = commits.remove(ann.id, own.message.id);
      expect(removed).toMatchObject({ changed: true, message: { body: "", deletedAt: expect.any(String) } });
      expect(commits.remove(ann.id, own.message.id).changed).toBe(false);
      expect(() => commits.edit(ann.id, own.message.id, "back")).toThrow(
        expect.objectContaining({ code: "validation_failed" }),
      );
      expect(store.messageById(own.message.id)).toMatchObject({ body: "", deletedAt: expect.any(String) });
    });
  });

  it("counts edits and deletes against the sender's rate, like sends", async () => {
    await withStorage((storage) => {
      const { commits } = setup(storage, 3);
      const { own } = commits.sendNow(ann.id, "one", null);
      commits.edit(ann.id, own.message.id, "two");
      commits.remove(ann.id, own.message.id);
      expect(() => commits.accept(ann.id, "four", null, null)).toThrow(
        expect.objectContaining({ code: "rate_limited" }),
      );
    });
  });
});
