import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { limitsFrom } from "../../src/config";
import { AlarmSchedule } from "../../src/durable/room/alarm";
import { Membership } from "../../src/durable/room/membership";
import { RoomState } from "../../src/durable/room/state";
import { RoomStorage } from "../../src/durable/room/storage";
import { newId } from "../../src/ids";
import type { SocketAttachment } from "../../src/durable/sockets";
import type { User } from "../../src/protocol/models";

/**
 * Runs `fn` with a fresh, empty Durable Object storage (SQLite): the storage of a conversation room
 * nobody uses, reached through `runInDurableObject`'s public `state`. The modules under test get it
 * passed in, as the room passes its own.
 */
export function withStorage<T>(fn: (storage: DurableObjectStorage) => T | Promise<T>): Promise<T> {
  return runInDurableObject(env.CONVERSATION_ROOM.getByName(newId("c")), (_instance, state) =>
    fn(state.storage),
  );
}

export const person = (id: string, firstName = id): User => ({
  id,
  firstName,
  lastName: "Test",
  avatarUrl: null,
});

/** A room's storage and state holding a conversation of these people, created now. */
export function roomWith(
  storage: DurableObjectStorage,
  members: User[],
  options: { kind?: "direct" | "group"; id?: string; presenceMaxMembers?: number } = {},
): { store: RoomStorage; state: RoomState; membership: Membership } {
  const store = new RoomStorage(storage);
  const state = new RoomState(options.id ?? newId("c"), store, options.presenceMaxMembers ?? 100);
  // Placed on a shard of this project's HISTORY_SHARDS, as a room of the Worker would be.
  const membership = new Membership(store, state, 1000, () => undefined, limitsFrom(env).historyShards);
  membership.create({
    kind: options.kind ?? "group",
    title: options.kind === "direct" ? null : "unit",
    createdBy: members[0]?.id ?? "",
    createdAt: new Date().toISOString(),
    members,
  });
  return { store, state, membership };
}

/**
 * An alarm schedule that records what it was asked for instead of setting the object's alarm;
 * `stored` is the alarm an earlier wake-up left set (what `load` reads).
 */
export function recordingAlarm(stored: number | null = null): { alarm: AlarmSchedule; requests: number[] } {
  const requests: number[] = [];
  const alarm = new AlarmSchedule({
    setAlarm: async (at: number | Date) => {
      requests.push(typeof at === "number" ? at : at.getTime());
    },
    getAlarm: async () => stored,
  });
  return { alarm, requests };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/**
 * A real socket pair for one user: the room's end (`server`, with its attachment) goes in whatever
 * the module under test sends to; the test reads the client's end (`frames`, `events` with array
 * frames flattened). Delivery between the ends is asynchronous.
 */
export function socketPeer(userId: string, batch = true) {
  const { 0: client, 1: server } = new WebSocketPair();
  client.accept();
  server.accept();
  const frames: unknown[] = [];
  client.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))));
  const attachment: SocketAttachment = {
    chat: 1,
    userId,
    tokenExp: Number.MAX_SAFE_INTEGER,
    batch,
    openedAt: 0,
  };
  const events = () => frames.flatMap((f) => (Array.isArray(f) ? f : [f]));
  return { server, client, attachment, frames, events };
}
export type SocketPeer = ReturnType<typeof socketPeer>;
