import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Message } from "../../src/protocol/models";
import type { HistoryPage } from "../../src/protocol/responses";
import { call } from "./call";
import type { Figures } from "./checks";
import { d1MessageRows } from "./d1";

/** Runs the room's alarm until D1 holds `count` rows for it (the outbox retries on its alarm). */
export async function drainOutbox(conversationId: string, count: number): Promise<void> {
  const room = env.CONVERSATION_ROOM.getByName(conversationId);
  for (let i = 0; i < 50; i++) {
    if ((await d1MessageRows(conversationId)).length >= count) return;
    await runDurableObjectAlarm(room);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The open sockets a room holds, as the runtime sees them. */
export async function roomSocketCount(conversationId: string): Promise<number> {
  return runInDurableObject(
    env.CONVERSATION_ROOM.getByName(conversationId),
    (_instance, state) => state.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN).length,
  );
}

/** Every page of a conversation's history, oldest first. */
export async function fullHistory(id: string, token: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const page = await call<HistoryPage>(
      "GET",
      `/api/conversations/${id}/messages?after=${out.length}&limit=100`,
      {
        token,
      },
    );
    out.push(...page.body.messages);
    if (!page.body.hasMore) return out;
  }
}

/**
 * The guarantee of the durability tests: every acknowledged message is in the history and in D1
 * exactly once, with the body it was acked with, and seq runs 1..n without a gap.
 */
export async function expectNothingLost(
  id: string,
  token: string,
  acked: Message[],
  figures: Figures,
): Promise<void> {
  const history = await fullHistory(id, token);
  expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
  await drainOutbox(id, history.length);
  expect(await d1MessageRows(id)).toEqual(history.map((m) => ({ id: m.id, seq: m.seq, body: m.body })));
  const unique = new Map(acked.map((m) => [m.id, m]));
  let lost = 0;
  for (const m of unique.values()) {
    const found = history.filter((h) => h.id === m.id);
    if (found.length !== 1 || found[0]?.seq !== m.seq || found[0]?.body !== m.body) lost++;
  }
  figures.add("messages acked", unique.size);
  figures.add("messages lost", lost);
  expect(lost).toBe(0);
}
