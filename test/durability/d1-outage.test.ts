import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { Message } from "../../src/protocol/models";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures } from "../helpers/checks";
import { d1MessageRows, refuseMessageRows } from "../helpers/d1";
import { drainOutbox, expectNothingLost } from "../helpers/rooms";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";

/**
 * D1 refusing a conversation's rows (a trigger in the test database: the real binding fails)
 * while people chat: sends are acked and delivered as usual, history still reads them through the
 * room, and once D1 takes rows again the outbox copies every one of them, once.
 */

const figures = new Figures("d1-outage");
afterAll(() => figures.print());
afterEach(() => {
  vi.restoreAllMocks();
});

const room = (id: string) => env.CONVERSATION_ROOM.getByName(id);

async function pair(): Promise<{ a: TestUser; b: TestUser; id: string }> {
  const a = await registerUser("Ann", "Outage");
  const b = await registerUser("Bob", "Outage");
  const { conversation } = await startConversation(a.token, [b.user.id]);
  return { a, b, id: conversation.id };
}

async function connect(id: string, token: string): Promise<TestSocket> {
  const s = await openSocket(`/api/conversations/${id}/ws`, { token });
  await s.next(ofType("ready"));
  return s;
}

/** Counts the outbox's failed attempts for one conversation, as its log lines report them. */
function countFailedCopies(conversationId: string): () => number {
  let failures = 0;
  const warn = console.warn.bind(console);
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.includes('"d1_mirror_failed"') && line.includes(conversationId)) failures++;
    else warn(...args);
  });
  return () => failures;
}

describe("D1 outage", () => {
  it("acks and delivers while D1 fails, reads history through the room, then copies to D1 once", async () => {
    const { a, b, id } = await pair();
    await sendMessage(a.token, id, "before the outage");
    const sa = await connect(id, a.token);
    const sb = await connect(id, b.token);
    const restore = await refuseMessageRows(id);
    try {
      for (let i = 1; i <= 3; i++) sa.send({ type: "send", body: `during ${i}`, clientId: `o${i}` });
      expect((await sa.collect(ofType("ack"), 3)).map((e) => e.message.seq)).toEqual([2, 3, 4]);
      expect((await sb.collect(ofType("message"), 3)).map((e) => e.message.body)).toEqual([
        "during 1",
        "during 2",
        "during 3",
      ]);
      expect(await d1MessageRows(id)).toHaveLength(1);
      // History reads through the room, so acked messages are readable during the outage.
      expect(
        (await api("GET", `/api/conversations/${id}/messages`, { token: b.token })).body.messages,
      ).toHaveLength(4);
    } finally {
      await restore();
    }
    // The outbox's retry: run by the test, or by the runtime's own alarm already under way.
    await drainOutbox(id, 4);
    expect((await d1MessageRows(id)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    // Nothing is left to copy: another pass changes nothing.
    await runDurableObjectAlarm(room(id));
    expect((await d1MessageRows(id)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    sa.close();
    sb.close();
  });

  it("keeps acking socket and REST sends while D1 is down, then copies everything without duplicates", async () => {
    const { a, b, id } = await pair();
    const sa = await connect(id, a.token);
    const sb = await connect(id, b.token);
    const failures = countFailedCopies(id);
    const restore = await refuseMessageRows(id);
    const rest: Message[] = [];
    let acks: Message[];
    try {
      for (let i = 0; i < 20; i++) sa.send({ type: "send", body: `socket ${i}`, clientId: `s${i}` });
      for (let i = 0; i < 5; i++) {
        const res = await call("POST", `/api/conversations/${id}/messages`, {
          token: b.token,
          body: { body: `rest ${i}`, clientId: `r${i}` },
        });
        expect(res.status).toBe(201);
        rest.push(res.body.message);
      }
      acks = (await sa.collect(ofType("ack"), 20)).map((e) => e.message);
      expect((await sb.collect(ofType("message"), 20)).length).toBe(20);
      expect(await d1MessageRows(id)).toHaveLength(0);
      await runDurableObjectAlarm(room(id)); // a retry while D1 is still down
      expect(failures()).toBeGreaterThan(0);
      figures.add("faults injected", failures());
    } finally {
      await restore();
    }
    await expectNothingLost(id, a.token, [...acks, ...rest], figures);
    sa.close();
    sb.close();
  });
});
