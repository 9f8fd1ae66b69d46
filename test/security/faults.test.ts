import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import { type TestUser, api, registerUser, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { call } from "./support/call";
import { Figures } from "./support/checks";
import { failingD1, lostReplyD1, restoreRoomDb, roomSocketCount, setRoomDb, slowD1 } from "./support/rooms";

/**
 * Faults injected while people chat: D1 down, slow, or losing its replies; the conversation's
 * object restarted in the middle of a stream; two devices racing with one clientId; dozens of
 * sockets closing at once. Every acknowledged message must end up exactly once, in order, in the
 * room's history and in D1.
 */

const figures = new Figures("faults");
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

/** Every page of the history, oldest first. */
async function fullHistory(id: string, token: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const page = await call<{ messages: Message[]; hasMore: boolean }>(
      "GET",
      `/api/conversations/${id}/messages?after=${out.length}&limit=100`,
      { token },
    );
    out.push(...page.body.messages);
    if (!page.body.hasMore) return out;
  }
}

/** Runs the room's alarm until D1 holds `count` rows for it (the outbox retries on its alarm). */
async function drainOutbox(id: string, count: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?")
      .bind(id)
      .first<{ n: number }>();
    if ((row?.n ?? 0) >= count) return;
    await runDurableObjectAlarm(room(id));
    await sleep(20);
  }
}

/**
 * The guarantee under test: every acknowledged message is in the history and in D1 exactly once,
 * with the body it was acked with, and seq runs 1..n without a gap. Returns how many were lost.
 */
async function expectNothingLost(id: string, token: string, acked: Message[]): Promise<void> {
  const history = await fullHistory(id, token);
  expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
  await drainOutbox(id, history.length);
  const rows = await env.DB.prepare(
    "SELECT id, seq, body FROM messages WHERE conversation_id = ? ORDER BY seq",
  )
    .bind(id)
    .all<{ id: string; seq: number; body: string }>();
  expect(rows.results).toEqual(history.map((m) => ({ id: m.id, seq: m.seq, body: m.body })));
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

describe("D1 faults during sends", () => {
  it("keeps acking while D1 is down, then copies everything once D1 is back, without duplicates", async () => {
    const { a, b, id } = await pair();
    const sa = await connect(id, a.token);
    const sb = await connect(id, b.token);
    let failures = 0;
    await setRoomDb(
      id,
      failingD1(env.DB, () => failures++),
    );
    for (let i = 0; i < 20; i++) sa.send({ type: "send", body: `socket ${i}`, clientId: `s${i}` });
    const rest: Message[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", `/api/conversations/${id}/messages`, {
        token: b.token,
        body: { body: `rest ${i}`, clientId: `r${i}` },
      });
      expect(res.status).toBe(201);
      rest.push(res.body.message);
    }
    const acks = await sa.collect(ofType("ack"), 20);
    expect((await sb.collect(ofType("message"), 20)).length).toBe(20);
    const d1Before = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?")
      .bind(id)
      .first<{ n: number }>();
    expect(d1Before?.n).toBe(0);
    await runDurableObjectAlarm(room(id)); // a retry while D1 is still down
    expect(failures).toBeGreaterThan(0);
    figures.add("faults injected", failures);
    await restoreRoomDb(id);
    await expectNothingLost(id, a.token, [...acks.map((e) => e.message), ...rest]);
    sa.close();
    sb.close();
  });

  it("acks at once while D1 is slow; the copies land later, once each", async () => {
    const { a, b, id } = await pair();
    const sa = await connect(id, a.token);
    const sb = await connect(id, b.token);
    let slowCalls = 0;
    await setRoomDb(
      id,
      slowD1(env.DB, 800, () => slowCalls++),
    );
    const latencies: number[] = [];
    const acked: Message[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      sa.send({ type: "send", body: `while slow ${i}`, clientId: `w${i}` });
      const ack = await sa.next((e) => e.type === "ack" && e.clientId === `w${i}`);
      latencies.push(Date.now() - t0);
      acked.push(ack.message);
    }
    // Every ack in less time than one D1 batch takes: nothing on the send path waits for D1.
    expect(Math.max(...latencies)).toBeLessThan(800);
    expect((await sb.collect(ofType("message"), 10)).map((e) => e.message.seq)).toEqual(
      acked.map((m) => m.seq),
    );
    expect(
      (await call("GET", `/api/conversations/${id}/messages`, { token: b.token })).body.messages,
    ).toHaveLength(10);
    await sleep(800 * 2 + 100);
    await restoreRoomDb(id);
    figures.add("faults injected", slowCalls);
    await expectNothingLost(id, a.token, acked);
    sa.close();
    sb.close();
  });

  it("does not duplicate rows when D1 commits a batch but the reply is lost", async () => {
    const { a, id } = await pair();
    const sa = await connect(id, a.token);
    let lostReplies = 0;
    await setRoomDb(
      id,
      lostReplyD1(env.DB, () => lostReplies++),
    );
    for (let i = 0; i < 8; i++) sa.send({ type: "send", body: `committed ${i}`, clientId: `c${i}` });
    const acks = await sa.collect(ofType("ack"), 8);
    await runDurableObjectAlarm(room(id)); // retries the rows D1 already has
    await sleep(100);
    expect(lostReplies).toBeGreaterThan(0);
    figures.add("faults injected", lostReplies);
    await restoreRoomDb(id);
    await expectNothingLost(
      id,
      a.token,
      acks.map((e) => e.message),
    );
    sa.close();
  });
});

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
  await expectNothingLost(id, a.token, [...acked.values()]);
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

describe("racing devices and mass disconnects", () => {
  it("stores one message when two devices and a REST retry send the same clientId at once", async () => {
    const { a, b, id } = await pair();
    const phone = await connect(id, a.token);
    const laptop = await connect(id, a.token);
    const sb = await connect(id, b.token);
    for (let round = 0; round < 10; round++) {
      const clientId = `same-${round}`;
      phone.send({ type: "send", body: `from the phone ${round}`, clientId });
      laptop.send({ type: "send", body: `from the laptop ${round}`, clientId });
      const rest = call("POST", `/api/conversations/${id}/messages`, {
        token: a.token,
        body: { body: `from a retry ${round}`, clientId },
      });
      const [p, l, r] = await Promise.all([
        phone.next((e) => e.type === "ack" && e.clientId === clientId),
        laptop.next((e) => e.type === "ack" && e.clientId === clientId),
        rest,
      ]);
      expect([200, 201]).toContain(r.status);
      expect(l.message).toEqual(p.message);
      expect(r.body.message).toEqual(p.message);
      figures.add("faults injected", 2); // two duplicate sends per round
    }
    // Another user may use the same clientId: it is scoped to its sender.
    const other = await call("POST", `/api/conversations/${id}/messages`, {
      token: b.token,
      body: { body: "mine", clientId: "same-0" },
    });
    expect(other.status).toBe(201);
    await sleep(50);
    const heard = sb.events.filter((e) => e.type === "message" && e.message.sender.id === a.user.id);
    expect(heard.map((e) => e.message.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    const history = await fullHistory(id, b.token);
    expect(history).toHaveLength(11);
    await expectNothingLost(id, a.token, history);
    for (const s of [phone, laptop, sb]) s.close();
  });

  it("handles 40 sockets closing at once: one presence change per person, the room keeps working", async () => {
    const people = await Promise.all(Array.from({ length: 4 }, (_, i) => registerUser(`P${i}`, "Crowd")));
    const watcher = await registerUser("Wat", "Cher");
    const { conversation } = await startConversation(
      watcher.token,
      people.map((p) => p.user.id),
      { title: "crowd" },
    );
    const id = conversation.id;
    const w = await connect(id, watcher.token);
    const crowd: TestSocket[] = [];
    for (const p of people) for (let i = 0; i < 10; i++) crowd.push(await connect(id, p.token));
    expect(await roomSocketCount(id)).toBe(41);
    // While they all leave, the watcher keeps sending.
    for (const s of crowd) s.close();
    for (let i = 0; i < 5; i++) w.send({ type: "send", body: `during the exodus ${i}`, clientId: `x${i}` });
    const acks = await w.collect(ofType("ack"), 5);
    const offline = await w.collect((e) => e.type === "presence" && e.online === false, 4);
    expect(offline.map((e) => e.userId).sort()).toEqual(people.map((p) => p.user.id).sort());
    figures.add("faults injected", crowd.length);
    await sleep(200);
    expect(w.events.filter((e) => e.type === "presence" && e.online === false)).toHaveLength(4);
    expect(w.events.filter((e) => e.type === "error")).toEqual([]);
    expect(await roomSocketCount(id)).toBe(1);
    // A newcomer sees only the watcher (and itself) online, and everything that was sent.
    const back = await openSocket(wsPath(id, 0), { token: people[0]!.token });
    expect((await back.next(ofType("ready"))).online.sort()).toEqual(
      [watcher.user.id, people[0]!.user.id].sort(),
    );
    expect((await back.collect(ofType("message"), 5)).map((e) => e.message.body)).toEqual(
      acks.map((e) => e.message.body),
    );
    await expectNothingLost(
      id,
      watcher.token,
      acks.map((e) => e.message),
    );
    back.close();
    w.close();
  });
});

// `api` is the exports.default path: one call proves the restarted room still answers through it.
describe("after the faults", () => {
  it("serves the Worker's own fetch path as before", async () => {
    const res = await api("GET", "/healthz");
    expect(res.status).toBe(200);
  });
});
