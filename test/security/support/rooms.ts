import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Limits } from "../../../src/config";

/** Changes one room's limits in place (settings are per deployment; a test needs them per room). */
export async function setRoomLimits(conversationId: string, patch: Partial<Limits>): Promise<void> {
  await runInDurableObject(env.CONVERSATION_ROOM.getByName(conversationId), (instance) => {
    const room = instance as unknown as { limits: Limits };
    Object.assign(room, { limits: { ...room.limits, ...patch } });
  });
}

/** Gives one room a different D1 binding (a failing or slow one) until `restoreRoomDb`. */
export async function setRoomDb(conversationId: string, db: D1Database): Promise<void> {
  await runInDurableObject(env.CONVERSATION_ROOM.getByName(conversationId), (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, DB: db };
  });
}

export const restoreRoomDb = (conversationId: string): Promise<void> => setRoomDb(conversationId, env.DB);

/** The open sockets a room holds, as the runtime sees them. */
export async function roomSocketCount(conversationId: string): Promise<number> {
  return runInDurableObject(
    env.CONVERSATION_ROOM.getByName(conversationId),
    (_instance, state) => state.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN).length,
  );
}

/** D1 wrappers for fault tests: every write path of the outbox goes through batch(). */
export function failingD1(real: D1Database, onCall?: () => void): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "batch" || prop === "prepare" || prop === "exec") {
        return () => {
          onCall?.();
          throw new Error("D1 is down (simulated)");
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** D1 whose batches take `delayMs` longer (an overloaded or far-away primary). */
export function slowD1(real: D1Database, delayMs: number, onCall?: () => void): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          onCall?.();
          await new Promise((r) => setTimeout(r, delayMs));
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** D1 that commits a batch and then loses the answer: the caller sees a failure, the rows are in. */
export function lostReplyD1(real: D1Database, onCall?: () => void): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          onCall?.();
          await target.batch(statements);
          throw new Error("D1 reply lost after commit (simulated)");
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The conversation's rows in D1, polled until `expected` (the outbox copies in the background) or 3 s. */
export async function d1MessageCount(conversationId: string, expected: number): Promise<number> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?")
      .bind(conversationId)
      .first<{ n: number }>();
    const n = row?.n ?? 0;
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 25));
  }
}
