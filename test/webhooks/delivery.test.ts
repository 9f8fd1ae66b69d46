import { describe, expect, inject, it } from "vitest";
import { type WebhookEvent, WebhookEventSchema } from "../../src/protocol/webhooks";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * Webhooks end to end: rooms enqueue on the local EVENTS queue, this Worker's queue consumer POSTs
 * to a real HTTP receiver on the Node side (setup/webhook-receiver.ts), configured as two endpoints
 * ("a" and "b") in this project's WEBHOOK_URLS. Every check here is on what the receiver got.
 */

const RECEIVER = inject("webhookReceiverUrl");
/** test/vitest.config.ts's WEBHOOK_SECRET. */
const SECRET = "test-webhook-secret-0123456789abcdefghij";
const KEY = "test-server-key-0123456789abcdefghijklmnop";

interface Delivery {
  endpoint: string;
  signature: string | null;
  body: string;
  status: number;
  event: WebhookEvent;
}

function conversationOf(e: WebhookEvent): string {
  switch (e.type) {
    case "message.created":
    case "message.updated":
    case "message.deleted":
      return e.data.message.conversationId;
    case "conversation.created":
      return e.data.conversation.id;
    default:
      return e.data.conversationId;
  }
}

/** Every request the receiver got about this conversation at this endpoint, in arrival order. */
async function deliveries(conversationId: string, endpoint: "a" | "b"): Promise<Delivery[]> {
  const all = (await (await fetch(`${RECEIVER}/_requests`)).json()) as Omit<Delivery, "event">[];
  return all
    .filter((r) => r.endpoint === endpoint)
    .map((r) => ({ ...r, event: WebhookEventSchema.parse(JSON.parse(r.body)) }))
    .filter((r) => conversationOf(r.event) === conversationId);
}

/** What the endpoint accepted (2xx), deduplicated by event id as a receiver would: first arrival wins. */
function accepted(list: Delivery[]): WebhookEvent[] {
  const seen = new Set<string>();
  const out: WebhookEvent[] = [];
  for (const d of list) {
    if (d.status >= 300 || seen.has(d.event.id)) continue;
    seen.add(d.event.id);
    out.push(d.event);
  }
  return out;
}

async function acceptedAtLeast(
  conversationId: string,
  endpoint: "a" | "b",
  count: number,
  timeoutMs = 20_000,
) {
  let events: WebhookEvent[] = [];
  await until(
    `${count} events at endpoint ${endpoint}`,
    async () => (events = accepted(await deliveries(conversationId, endpoint))).length >= count,
    timeoutMs,
  );
  return events;
}

async function failNext(conversationId: string, times: number): Promise<void> {
  await fetch(`${RECEIVER}/_fail`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ conversationId, times }),
  });
}

const hex = (buf: ArrayBuffer) =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

/** Checks X-Chat-Signature as a receiver would: HMAC-SHA256(secret, "<t>.<raw body>"), t recent. */
async function expectSigned(d: Delivery): Promise<void> {
  const parts = (d.signature ?? "").split(",").map((p) => p.split("=", 2) as [string, string]);
  const t = Number(parts.find(([k]) => k === "t")?.[1]);
  const signatures = parts.filter(([k]) => k === "v1").map(([, v]) => v);
  expect(Math.abs(Date.now() / 1000 - t)).toBeLessThan(300);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const expected = hex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${d.body}`)));
  expect(signatures).toContain(expected);
}

const summary = (e: WebhookEvent): string => {
  switch (e.type) {
    case "message.created":
    case "message.updated":
    case "message.deleted":
      return `${e.type} ${e.data.message.seq}`;
    case "conversation.created":
      return e.type;
    default:
      return `${e.type} ${e.data.user.firstName}`;
  }
};

describe("webhooks", () => {
  it("delivers every message and membership event, signed, in order, to every endpoint", async () => {
    const [ann, bob, cy] = await Promise.all([registerUser("Ann"), registerUser("Bob"), registerUser("Cy")]);
    const created = await call("POST", "/api/server/conversations", {
      token: KEY,
      body: { createdBy: ann.user.id, participantIds: [bob.user.id], title: "Launch", body: "Kickoff" },
    });
    expect(created.status).toBe(201);
    const id: string = created.body.conversation.id;
    const second = await sendMessage(ann.token, id, "second");
    const third = await sendMessage(bob.token, id, "third");
    await api("PATCH", `/api/conversations/${id}/messages/${second.id}`, {
      token: ann.token,
      body: { body: "second, edited" },
    });
    await api("DELETE", `/api/conversations/${id}/messages/${third.id}`, { token: bob.token });
    await api("POST", `/api/conversations/${id}/participants`, {
      token: ann.token,
      body: { userIds: [cy.user.id] },
    });
    await api("DELETE", `/api/conversations/${id}`, { token: bob.token });
    await call("POST", `/api/server/conversations/${id}/messages`, { token: KEY, body: { body: "Shipped" } });
    const expected = [
      "conversation.created",
      "message.created 1",
      "message.created 2",
      "message.created 3",
      "message.updated 2",
      "message.deleted 3",
      "participant.added Cy",
      "participant.left Bob",
      "message.created 4",
    ];
    for (const endpoint of ["a", "b"] as const) {
      const events = await acceptedAtLeast(id, endpoint, expected.length);
      expect(events.map(summary)).toEqual(expected);
      for (const d of await deliveries(id, endpoint)) await expectSigned(d);
      const [conversationCreated] = events;
      expect(conversationCreated?.data).toMatchObject({
        conversation: { id, kind: "group", title: "Launch", createdBy: ann.user.id },
      });
      expect(events.at(-1)?.data).toMatchObject({ message: { sender: null, system: true, body: "Shipped" } });
      expect(events[5]?.data).toMatchObject({ message: { body: "", deletedAt: expect.any(String) } });
    }
    // The two endpoints got the same events: the same ids, each event its own.
    const ids = (await acceptedAtLeast(id, "a", expected.length)).map((e) => e.id);
    expect((await acceptedAtLeast(id, "b", expected.length)).map((e) => e.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(expected.length);
  });

  it("retries after the receiver fails: the failed event comes again with the same id, order kept", async () => {
    const ann = await registerUser("Ann");
    const bob = await registerUser("Bob");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const id = conversation.id;
    await acceptedAtLeast(id, "a", 1);
    await acceptedAtLeast(id, "b", 1);
    await failNext(id, 3);
    for (let i = 1; i <= 4; i++) await sendMessage(i % 2 ? ann.token : bob.token, id, `m${i}`);
    for (const endpoint of ["a", "b"] as const) {
      const events = await acceptedAtLeast(id, endpoint, 5);
      expect(events.map(summary)).toEqual([
        "conversation.created",
        "message.created 1",
        "message.created 2",
        "message.created 3",
        "message.created 4",
      ]);
    }
    const all = [...(await deliveries(id, "a")), ...(await deliveries(id, "b"))];
    const failed = all.filter((d) => d.status === 500);
    expect(failed).toHaveLength(3);
    for (const f of failed) {
      // The same event (same id, same body) was delivered again later, and accepted.
      const retried = all.filter(
        (d) => d.endpoint === f.endpoint && d.event.id === f.event.id && d.status < 300,
      );
      expect(retried).toHaveLength(1);
      expect(retried[0]?.body).toBe(f.body);
    }
    // In arrival order, counting failed attempts too, nothing ever came before an earlier event.
    for (const endpoint of ["a", "b"] as const) {
      const firsts: string[] = [];
      for (const d of await deliveries(id, endpoint))
        if (!firsts.includes(d.event.id)) firsts.push(d.event.id);
      expect(firsts).toEqual((await acceptedAtLeast(id, endpoint, 5)).map((e) => e.id));
    }
  });

  it("never holds up a room while endpoints fail, and moves on after the dead-letter queue", async () => {
    const ann = await registerUser("Ann");
    const bob = await registerUser("Bob");
    const { conversation } = await startConversation(ann.token, [bob.user.id]);
    const id = conversation.id;
    await acceptedAtLeast(id, "a", 1);
    await acceptedAtLeast(id, "b", 1);
    await failNext(id, 1000);
    // Sends are acknowledged as always while every delivery fails.
    const socket = await openSocket(`/api/conversations/${id}/ws`, { token: bob.token });
    await socket.next(ofType("ready"));
    expect((await sendMessage(ann.token, id, "lost")).seq).toBe(1);
    socket.send({ type: "send", body: "maybe lost", clientId: "b-1" });
    expect((await socket.next(ofType("ack"))).message.seq).toBe(2);
    const attemptsOfFirst = async (endpoint: "a" | "b") =>
      (await deliveries(id, endpoint)).filter((d) => summary(d.event) === "message.created 1");
    // One attempt and three retries (this project's max_retries) per endpoint, then the
    // dead-letter queue, whose consumer tells the room to skip the batch.
    await until(
      "the retries to run out",
      async () => (await attemptsOfFirst("a")).length >= 4 && (await attemptsOfFirst("b")).length >= 4,
      30_000,
    );
    await failNext(id, 0);
    expect((await sendMessage(ann.token, id, "after")).seq).toBe(3);
    for (const endpoint of ["a", "b"] as const) {
      await until(
        `the later message at endpoint ${endpoint}`,
        async () => accepted(await deliveries(id, endpoint)).some((e) => summary(e) === "message.created 3"),
        30_000,
      );
      const attempts = await attemptsOfFirst(endpoint);
      expect(attempts.map((d) => d.status)).toEqual([500, 500, 500, 500]);
      const events = accepted(await deliveries(id, endpoint)).map(summary);
      expect(events).not.toContain("message.created 1");
      // Whatever was not in the abandoned batch arrived, in order.
      expect(events.at(-1)).toBe("message.created 3");
      expect([...events].sort()).toEqual(events);
    }
    socket.close();
  });

  it("keeps each conversation's order when several rooms send at once", async () => {
    const ann = await registerUser("Ann");
    const bob = await registerUser("Bob");
    const cy = await registerUser("Cy");
    const one = (await startConversation(ann.token, [bob.user.id])).conversation.id;
    const two = (await startConversation(ann.token, [cy.user.id])).conversation.id;
    const sockets = await Promise.all([
      openSocket(`/api/conversations/${one}/ws?batch=1`, { token: ann.token }),
      openSocket(`/api/conversations/${two}/ws?batch=1`, { token: ann.token }),
    ]);
    await Promise.all(sockets.map((s) => s.next(ofType("ready"))));
    const count = 15;
    for (let i = 1; i <= count; i++) {
      for (const s of sockets) s.send({ type: "send", body: `m${i}`, clientId: `c${i}` });
    }
    await Promise.all(sockets.map((s) => s.collect(ofType("ack"), count)));
    for (const id of [one, two]) {
      for (const endpoint of ["a", "b"] as const) {
        const events = await acceptedAtLeast(id, endpoint, count + 1);
        expect(events.map(summary)).toEqual([
          "conversation.created",
          ...Array.from({ length: count }, (_, i) => `message.created ${i + 1}`),
        ]);
      }
    }
    for (const s of sockets) s.close();
  });
});
