import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { registerUser, startConversation } from "../helpers/api";
import { call } from "../helpers/call";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";

/**
 * API.md: a socket is closed with 4401 within 60 s after its token expires, whether or not the
 * client sends anything. A socket that only pings never wakes its object (the runtime answers the
 * ping), so the object's alarm enforces it. The tokens here live TOKEN_TTL_SECONDS = 2 (renewed
 * through /api/auth/refresh with that setting); the test waits for the expiry itself, then runs
 * the object's alarm rather than waiting for it.
 */

const TTL_SECONDS = 2;

async function shortLivedToken(token: string): Promise<{ token: string; exp: number }> {
  const res = await call("POST", "/api/auth/refresh", {
    token,
    env: { TOKEN_TTL_SECONDS: String(TTL_SECONDS) },
  });
  expect(res.status).toBe(200);
  return { token: res.body.token, exp: Date.parse(res.body.expiresAt) / 1000 };
}

/**
 * Pings every 200 ms until the token's expiry has passed (or the object's alarm closed the socket
 * at the expiry already); the pings are answered, and they are all the socket sends.
 */
async function pingUntilExpired(socket: TestSocket, exp: number): Promise<void> {
  while (Date.now() / 1000 < exp + 0.05 && socket.ws.readyState === WebSocket.OPEN) {
    socket.sendRaw("ping");
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(socket.events.filter((e) => e === "pong").length).toBeGreaterThan(0);
}

/** Runs the object's alarm now if it has not fired by itself already; the socket must be closed 4401. */
async function expectClosedByAlarm(stub: DurableObjectStub, socket: TestSocket): Promise<void> {
  await runDurableObjectAlarm(stub);
  const closed = await Promise.race([
    socket.closed,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the socket was not closed after its token expired")), 5000),
    ),
  ]);
  expect(closed.code).toBe(4401);
}

describe("sockets of an expired token", () => {
  it("closes an idle conversation socket with 4401 after its token expires; others stay open", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/ws`;
    const short = await shortLivedToken(a.token);
    const idle = await openSocket(path, { token: short.token });
    const lasting = await openSocket(path, { token: b.token });
    await idle.next(ofType("ready"));
    await lasting.next(ofType("ready"));
    await pingUntilExpired(idle, short.exp);
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await expectClosedByAlarm(room, idle);
    // Bob's token is valid: his socket still sends and receives.
    lasting.send({ type: "send", body: "still here", clientId: "b-1" });
    expect((await lasting.next(ofType("ack"))).message.body).toBe("still here");
    lasting.close();
  });

  it("closes it after the room hibernated in between (the alarm outlives the eviction)", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const short = await shortLivedToken(a.token);
    const idle = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: short.token });
    await idle.next(ofType("ready"));
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await evictDurableObject(room, { webSockets: "hibernate" });
    // A REST send wakes the room and asks the alarm for the D1 outbox; it must not lose the expiry.
    await call("POST", `/api/conversations/${conversation.id}/messages`, {
      token: b.token,
      body: { body: "wake up" },
    });
    await pingUntilExpired(idle, short.exp);
    await expectClosedByAlarm(room, idle);
  });

  it("closes an idle inbox socket with 4401 after its token expires", async () => {
    const a = await registerUser("Ann");
    const short = await shortLivedToken(a.token);
    const idle = await openSocket("/api/inbox/ws", { token: short.token });
    const lasting = await openSocket("/api/inbox/ws", { token: a.token });
    await idle.next(ofType("ready"));
    await lasting.next(ofType("ready"));
    await pingUntilExpired(idle, short.exp);
    await expectClosedByAlarm(env.USER_INBOX.getByName(a.user.id), idle);
    // The other socket of the same user keeps hearing about new conversations.
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(b.token, [a.user.id]);
    expect((await lasting.next(ofType("conversation.created"))).conversation.id).toBe(conversation.id);
    lasting.close();
  });
});
