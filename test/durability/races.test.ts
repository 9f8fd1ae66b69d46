import { afterAll, describe, expect, it } from "vitest";
import { type TestUser, registerUser, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { call } from "../helpers/call";
import { Figures } from "../helpers/checks";
import { expectNothingLost, fullHistory, roomSocketCount } from "../helpers/rooms";

/**
 * Concurrency a room must absorb: racing devices sending one clientId, and dozens of sockets
 * closing at once while others keep sending. Every acknowledged message ends up exactly once.
 */

const figures = new Figures("races");
afterAll(() => figures.print());

const wsPath = (id: string, since?: number) =>
  `/api/conversations/${id}/ws${since === undefined ? "" : `?since=${since}`}`;
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
      // REST messages also carry the caller's own reactions (none here); socket events do not.
      expect(r.body.message).toEqual({ ...p.message, myReactions: [] });
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
    await expectNothingLost(id, a.token, history, figures);
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
      figures,
    );
    back.close();
    w.close();
  });
});
