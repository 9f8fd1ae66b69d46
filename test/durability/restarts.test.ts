import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import { type TestUser, api, registerUser, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { Figures } from "../helpers/checks";
import { expectNothingLost } from "../helpers/rooms";

/**
 * The conversation's object restarted in the middle of a stream, gracefully (eviction) or not
 * (every object aborted): a client that reconnects with `since` and resends what was not acked
 * loses nothing, and nothing arrives twice.
 */

const figures = new Figures("restarts");
afterAll(() => figures.print());

const wsPath = (id: string, since?: number) =>
  `/api/conversations/${id}/ws${since === undefined ? "" : `?since=${since}`}`;
const room = (id: string) => env.CONVERSATION_ROOM.getByName(id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pair(): Promise<{ a: TestUser; b: TestUser; id: string }> {
  const a = await registerUser("Ann", "Fault");
  const b = await registerUser("Bob", "Fault");
  const { conversation } = await startConversation(a.token, [b.user.id]);
  return { a, b, id: conversation.id };
}

async function connect(id: string, token: string, since?: number): Promise<TestSocket> {
  const s = await openSocket(wsPath(id, since), { token });
  await s.next(ofType("ready"));
  return s;
}

/**
 * A client as the API describes it: resends unacknowledged messages with the same clientId after
 * reconnecting, and reconnects with since = the last seq it saw.
 */
async function restartDuring(restart: (id: string) => Promise<void>): Promise<void> {
  const { a, b, id } = await pair();
  let sa = await connect(id, a.token);
  let sb = await connect(id, b.token);
  const total = 30;
  const acked = new Map<string, Message>();
  const seenByB = new Map<number, Message>();
  const track = (s: TestSocket) => {
    s.ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || e.data === "pong") return;
      const event = JSON.parse(e.data);
      if (event.type === "message") seenByB.set(event.message.seq, event.message);
    });
  };
  const trackAcks = (s: TestSocket) => {
    s.ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || e.data === "pong") return;
      const event = JSON.parse(e.data);
      if (event.type === "ack") acked.set(event.clientId, event.message);
    });
  };
  track(sb);
  trackAcks(sa);
  const send = (i: number) => {
    try {
      sa.ws.send(JSON.stringify({ type: "send", body: `stream ${i}`, clientId: `m${i}` }));
    } catch {
      // the socket went away under the restart: the resend below covers it
    }
  };
  // Ten acked, then twenty in flight when the object goes down.
  for (let i = 0; i < 10; i++) send(i);
  await sa.collect(ofType("ack"), 10);
  for (let i = 10; i < total; i++) send(i);
  await restart(id);
  const closes = await Promise.all(
    [sa.closed, sb.closed].map((p) => Promise.race([p, sleep(3000).then(() => null)])),
  );
  expect(
    closes.every((c) => c !== null),
    "both sockets were cut by the restart",
  ).toBe(true);
  // Reconnect both sides; b asks for everything after the last seq it saw.
  const lastSeen = Math.max(0, ...seenByB.keys());
  sa = await connect(id, a.token);
  trackAcks(sa);
  sb = await openSocket(wsPath(id, lastSeen), { token: b.token });
  track(sb);
  await sb.next(ofType("ready"));
  for (let i = 0; i < total; i++)
    if (!acked.has(`m${i}`)) sa.send({ type: "send", body: `stream ${i}`, clientId: `m${i}` });
  for (let i = 0; i < 100 && acked.size < total; i++) await sleep(20);
  expect(acked.size).toBe(total);
  for (let i = 0; i < 100 && seenByB.size < total; i++) await sleep(20);
  // b saw every seq from 1 to the last, none twice, nothing it was not sent.
  expect([...seenByB.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  expect(new Set([...acked.values()].map((m) => m.id)).size).toBe(total);
  await expectNothingLost(id, a.token, [...acked.values()], figures);
  sa.close();
  sb.close();
}

describe("the conversation's object restarts mid-stream", () => {
  it("loses nothing when the object is evicted and its sockets are closed", async () => {
    await restartDuring(async (id) => {
      await evictDurableObject(room(id), { webSockets: "close" });
      figures.add("faults injected");
    });
  });

  it("loses nothing when every object is aborted (a crash, not a graceful eviction)", async () => {
    await restartDuring(async () => {
      await abortAllDurableObjects();
      figures.add("faults injected");
    });
  });
});

// `api` is the exports.default path: one call proves the restarted room still answers through it.
describe("after the restarts", () => {
  it("serves the Worker's own fetch path as before", async () => {
    const res = await api("GET", "/healthz");
    expect(res.status).toBe(200);
  });
});
