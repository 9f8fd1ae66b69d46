import { describe, expect, it } from "vitest";
import { DEFAULT_SHARD } from "../../src/db/shards";
import { Membership } from "../../src/durable/room/membership";
import { type SignalSockets, Signals } from "../../src/durable/room/signals";
import type { RoomState } from "../../src/durable/room/state";
import type { RoomStorage } from "../../src/durable/room/storage";
import { TypingThrottle } from "../../src/durable/room/throttles";
import type { ReadPosition } from "../../src/protocol/models";
import { person, roomWith, socketPeer, type SocketPeer, withStorage } from "./support";

/** The room's sockets: the test opens and closes them (presence is counted per user). */
function socketsOf(peers: SocketPeer[]): SignalSockets & { open: SocketPeer[] } {
  const open = [...peers];
  return {
    open,
    each(send) {
      for (const p of open) send(p.server, p.attachment);
    },
    countFor: (userId) => open.filter((p) => p.attachment.userId === userId).length,
    onlineUsers: () => [...new Set(open.map((p) => p.attachment.userId))],
  };
}

/** Delivery to the client ends is asynchronous. */
const settle = () => new Promise((r) => setTimeout(r, 20));

const ann = person("u_ann", "Ann");
const bob = person("u_bob", "Bob");
const cat = person("u_cat", "Cat");

/** Signals over a real room storage, with a hand-driven window and counters of what it caused. */
function setup(storage: DurableObjectStorage, peers: SocketPeer[], members = [ann, bob, cat]) {
  const { store, state } = roomWith(storage, members);
  const windows: (() => void)[] = [];
  const writes: ReadPosition[][] = [];
  const stored: string[][] = [];
  const sockets = socketsOf(peers);
  const signals = new Signals({
    state,
    sockets,
    store: {
      storeReads: (rows) => {
        writes.push([...rows]);
        store.storeReads(rows);
      },
    },
    readsStored: (ids) => stored.push(ids),
    typing: new TypingThrottle(0),
    windowMs: 250,
    later: (fn) => windows.push(fn),
  });
  /** Ends the open window (as its timer would). */
  const endWindow = () => {
    const fn = windows.shift();
    expect(fn, "a window was open").toBeDefined();
    fn?.();
  };
  return { store, state, signals, sockets, windows, writes, stored, endWindow };
}

/** The room has `n` messages (positions are capped at the latest seq). */
function withMessages(store: RoomStorage, state: RoomState, n: number): void {
  const now = new Date().toISOString();
  const messages = Array.from({ length: n }, (_, i) => ({
    seq: state.lastSeq + i + 1,
    id: `m_${state.lastSeq + i + 1}`,
    senderId: ann.id,
    body: "hi",
    clientId: null,
    createdAt: now,
    editedAt: null,
    deletedAt: null,
  }));
  store.insertMessages(messages);
  state.lastSeq += n;
}

const member = (state: RoomState, id: string) => state.requireMember(id);

describe("signals: read receipts", () => {
  it("turns N receipts within a window into one frame per socket, one write, one flush and one notice", async () => {
    await withStorage(async (storage) => {
      const watchers = [socketPeer(ann.id), socketPeer(ann.id, false), socketPeer(cat.id)];
      const { store, state, signals, windows, writes, stored, endWindow } = setup(storage, watchers);
      withMessages(store, state, 30);
      for (let seq = 1; seq <= 30; seq++) signals.read(member(state, bob.id), seq);
      signals.read(member(state, cat.id), 12);
      expect(windows).toHaveLength(1); // one window for all of them
      expect(writes).toEqual([]); // nothing stored before the window ends
      endWindow();
      await settle();
      expect(writes).toEqual([
        [
          { userId: bob.id, lastReadSeq: 30 },
          { userId: cat.id, lastReadSeq: 12 },
        ],
      ]);
      expect(stored).toEqual([[bob.id, cat.id]]); // the outbox and the two inboxes, once
      expect(store.dirtyReads().sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual([
        { userId: bob.id, lastReadSeq: 30 },
        { userId: cat.id, lastReadSeq: 12 },
      ]);
      const [batched, plain, catSocket] = watchers as [SocketPeer, SocketPeer, SocketPeer];
      const expected = [
        { type: "read", userId: bob.id, seq: 30 },
        { type: "read", userId: cat.id, seq: 12 },
      ];
      expect(batched.frames).toEqual([expected]); // one array frame
      expect(catSocket.frames).toEqual([expected]); // the reader's own sockets hear it too
      expect(plain.frames).toEqual(expected); // a plain socket: one read per changed user
    });
  });

  it("lets the latest position win and never tells one that goes backwards", async () => {
    await withStorage(async (storage) => {
      const watcher = socketPeer(ann.id);
      const { store, state, signals, windows, writes, endWindow } = setup(storage, [watcher]);
      withMessages(store, state, 10);
      const reader = member(state, bob.id);
      expect(signals.read(reader, 5)).toBe(true);
      expect(signals.read(reader, 3)).toBe(false);
      endWindow();
      expect(signals.read(reader, 4)).toBe(false);
      expect(signals.read(reader, 5)).toBe(false);
      expect(windows).toHaveLength(0);
      expect(signals.read(reader, 99)).toBe(true); // capped at the latest message
      endWindow();
      await settle();
      expect(writes).toEqual([[{ userId: bob.id, lastReadSeq: 5 }], [{ userId: bob.id, lastReadSeq: 10 }]]);
      expect(watcher.events().map((e) => (e as { seq: number }).seq)).toEqual([5, 10]);
      expect(state.reads()).toContainEqual({ userId: bob.id, lastReadSeq: 10 });
    });
  });

  it("moves a sender's position to their own message, stored with the window and told to nobody", async () => {
    await withStorage(async (storage) => {
      const watcher = socketPeer(cat.id);
      const { store, state, signals, writes, endWindow } = setup(storage, [watcher]);
      withMessages(store, state, 3);
      signals.sent(ann.id, 1);
      signals.sent(bob.id, 2);
      signals.sent(ann.id, 3);
      expect(member(state, ann.id).lastReadSeq).toBe(3); // at once, for views and `ready`
      expect(writes).toEqual([]);
      endWindow();
      expect(writes).toEqual([
        [
          { userId: ann.id, lastReadSeq: 3 },
          { userId: bob.id, lastReadSeq: 2 },
        ],
      ]);
      await settle();
      expect(watcher.frames).toEqual([]);
    });
  });

  it("keeps a position not stored yet when membership changes reload the members", async () => {
    await withStorage(async (storage) => {
      const watcher = socketPeer(ann.id);
      const { store, state, signals, writes, endWindow } = setup(storage, [watcher]);
      withMessages(store, state, 8);
      signals.read(member(state, bob.id), 8);
      new Membership(store, state, 1000, () => undefined, [DEFAULT_SHARD]).add([person("u_dan", "Dan")]); // reloads
      expect(member(state, bob.id).lastReadSeq).toBe(8);
      endWindow();
      await settle();
      expect(writes).toEqual([[{ userId: bob.id, lastReadSeq: 8 }]]);
      expect(watcher.events()).toEqual([{ type: "read", userId: bob.id, seq: 8 }]);
    });
  });

  it("costs nothing for a receipt that moves nothing: no window, no write, no frame", async () => {
    await withStorage(async (storage) => {
      const watcher = socketPeer(ann.id);
      const { store, state, signals, windows, writes, stored } = setup(storage, [watcher]);
      withMessages(store, state, 3);
      const reader = member(state, bob.id);
      signals.read(reader, 3);
      windows.shift()?.();
      writes.length = 0;
      stored.length = 0;
      for (const seq of [0, 1, 2, 3, 3, 100]) expect(signals.read(reader, seq)).toBe(false);
      signals.persistReads();
      expect(windows).toEqual([]);
      expect(writes).toEqual([]);
      expect(stored).toEqual([]);
      await settle();
      expect(watcher.frames).toHaveLength(1); // the first window's, nothing since
    });
  });
});

describe("signals: typing and presence", () => {
  it("sends the typing changes of a window in one frame, never to the typer, and drops a start undone in it", async () => {
    await withStorage(async (storage) => {
      // Sockets are made inside the object's context: the room sends on them from there.
      const annTab = socketPeer(ann.id);
      const bobTab = socketPeer(bob.id);
      const catPlain = socketPeer(cat.id, false);
      const { signals, windows, endWindow } = setup(storage, [annTab, bobTab, catPlain]);
      signals.typing(ann.id, true);
      signals.typing(bob.id, true);
      signals.typing(bob.id, false);
      signals.typing(bob.id, true);
      signals.typing(cat.id, true);
      signals.typing(cat.id, false); // started and stopped within the window: nobody hears of it
      expect(windows).toHaveLength(1);
      endWindow();
      await settle();
      expect(annTab.frames).toEqual([{ type: "typing", userId: bob.id, active: true }]);
      expect(bobTab.frames).toEqual([{ type: "typing", userId: ann.id, active: true }]);
      expect(catPlain.frames).toEqual([
        { type: "typing", userId: ann.id, active: true },
        { type: "typing", userId: bob.id, active: true },
      ]);
      signals.typing(ann.id, false);
      signals.typing(cat.id, false); // cat was never told typing: no stop either
      endWindow();
      await settle();
      expect(bobTab.events().at(-1)).toEqual({ type: "typing", userId: ann.id, active: false });
      expect(catPlain.frames).toHaveLength(3);
      expect(annTab.frames).toHaveLength(1);
    });
  });

  it("coalesces tabs opening and closing: one frame per window, only real changes, O(1) per tab", async () => {
    await withStorage(async (storage) => {
      const watcher = socketPeer(ann.id);
      const { signals, sockets, windows, endWindow } = setup(storage, [watcher]);
      // Bob opens three tabs, Cat opens one and closes it again, all within one window.
      const bobTabs = [socketPeer(bob.id), socketPeer(bob.id), socketPeer(bob.id)];
      for (const tab of bobTabs) {
        sockets.open.push(tab);
        signals.arrived(bob.id);
      }
      const catTab = socketPeer(cat.id);
      sockets.open.push(catTab);
      signals.arrived(cat.id);
      sockets.open.splice(sockets.open.indexOf(catTab), 1);
      signals.departed(catTab.attachment);
      expect(windows).toHaveLength(1);
      endWindow();
      await settle();
      expect(watcher.frames).toEqual([{ type: "presence", userId: bob.id, online: true }]);
      for (const tab of bobTabs) expect(tab.events()).toEqual([]); // not told about themselves
      // Two of Bob's tabs close: he is still online, nothing to tell and no window.
      for (const tab of bobTabs.slice(0, 2)) {
        sockets.open.splice(sockets.open.indexOf(tab), 1);
        signals.departed(tab.attachment);
      }
      expect(windows).toHaveLength(0);
      sockets.open.splice(sockets.open.indexOf(bobTabs[2] as SocketPeer), 1);
      signals.departed(bobTabs[2]?.attachment);
      endWindow();
      await settle();
      expect(watcher.frames).toEqual([
        { type: "presence", userId: bob.id, online: true },
        { type: "presence", userId: bob.id, online: false },
      ]);
    });
  });

  it("waits at least 2 ms per member between windows in a large room", async () => {
    await withStorage(async (storage) => {
      const crowd = Array.from({ length: 300 }, (_, i) => person(`u_${i}`));
      const { state } = roomWith(storage, crowd);
      const delays: number[] = [];
      const signals = new Signals({
        state,
        sockets: socketsOf([]),
        store: { storeReads: () => undefined },
        readsStored: () => undefined,
        typing: new TypingThrottle(0),
        windowMs: 250,
        later: (_fn, ms) => delays.push(ms),
      });
      signals.typing("u_1", true);
      expect(delays).toEqual([600]);
    });
  });
});
