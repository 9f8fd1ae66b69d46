import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, upgrade } from "../helpers/call";
import { TEST_SECRET } from "../helpers/tokens";
import { api, registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ticketFor(token: string, env?: Partial<Env>): Promise<{ ticket: string; expiresIn: number }> {
  const res = await call("POST", "/api/ws-ticket", { token, env });
  expect(res.status).toBe(200);
  return res.body;
}

/** An upgrade with the ticket in the query, as the web client opens its sockets. */
const withTicket = (path: string, ticket: string) => upgrade(`${path}?ticket=${encodeURIComponent(ticket)}`);

describe("POST /api/ws-ticket", () => {
  it("gives a single-use ticket that opens one socket on either /ws route", async () => {
    const a = await registerUser("Tick", "Et");
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id], { body: "hi" });
    const first = await ticketFor(a.token);
    expect(first.expiresIn).toBeGreaterThan(0);
    expect(first.expiresIn).toBeLessThanOrEqual(60);
    expect(first.ticket).not.toContain(a.token);

    const room = await openSocket(`/api/conversations/${conversation.id}/ws?since=0&ticket=${first.ticket}`);
    expect((await room.next(ofType("ready"))).conversationId).toBe(conversation.id);
    expect((await room.next(ofType("message"))).message.body).toBe("hi");
    room.send({ type: "send", body: "sent over a ticket", clientId: "t-1" });
    expect((await room.next(ofType("ack"))).message.sender.id).toBe(a.user.id);

    // Used once: the same ticket opens nothing more, on either route.
    expect((await withTicket(`/api/conversations/${conversation.id}/ws`, first.ticket)).status).toBe(401);
    expect((await withTicket("/api/inbox/ws", first.ticket)).status).toBe(401);

    const second = await ticketFor(a.token);
    const inbox = await openSocket(`/api/inbox/ws?ticket=${second.ticket}`);
    await inbox.next(ofType("ready"));
    room.close();
    inbox.close();
  });

  it("refuses tickets that were made up, altered or moved to another user", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { ticket } = await ticketFor(a.token);
    const [userId, secret] = ticket.split(".");
    const forged = [
      "",
      "nonsense",
      `${userId}.${"A".repeat(32)}`,
      `${b.user.id}.${secret}`,
      `${userId}.${secret}x`,
      // The last character changed (to one it is not: a secret may already end in "B").
      `${userId}.${secret!.slice(0, -1)}${secret!.endsWith("B") ? "C" : "B"}`,
    ];
    for (const bad of forged) {
      const res = await withTicket("/api/inbox/ws", bad);
      expect(res.status, bad).toBe(401);
    }
    // None of those used it up.
    expect((await withTicket("/api/inbox/ws", ticket)).status).toBe(101);
  });

  it("keeps at most WS_TICKETS_PER_USER unused tickets: minting another drops the oldest", async () => {
    const a = await registerUser();
    const two = { WS_TICKETS_PER_USER: "2" };
    const [oldest, middle, newest] = [
      await ticketFor(a.token, two),
      await ticketFor(a.token, two),
      await ticketFor(a.token, two),
    ];
    expect((await withTicket("/api/inbox/ws", oldest.ticket)).status).toBe(401);
    expect((await withTicket("/api/inbox/ws", middle.ticket)).status).toBe(101);
    expect((await withTicket("/api/inbox/ws", newest.ticket)).status).toBe(101);
  });

  it("expires unused after WS_TICKET_TTL_SECONDS", async () => {
    const a = await registerUser();
    const { ticket, expiresIn } = await ticketFor(a.token, { WS_TICKET_TTL_SECONDS: "1" });
    expect(expiresIn).toBe(1);
    await sleep(1100);
    expect((await withTicket("/api/inbox/ws", ticket)).status).toBe(401);
  });

  it("carries the expiry of the token it was minted from to the socket (closed 4401 after it)", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const { ticket, expiresIn } = await ticketFor(shortLived);
    expect(expiresIn).toBeLessThanOrEqual(2);
    const room = await openSocket(`/api/conversations/${conversation.id}/ws?ticket=${ticket}`);
    await room.next(ofType("ready"));
    await sleep(2100);
    // The room's alarm may have closed it at the expiry already; otherwise the next frame does.
    if (room.ws.readyState === WebSocket.OPEN) room.send({ type: "typing", active: true });
    expect((await room.closed).code).toBe(4401);
  });

  it("needs a valid bearer token to mint, and is not itself a bearer token", async () => {
    expect((await call("POST", "/api/ws-ticket")).status).toBe(401);
    const a = await registerUser();
    const { ticket } = await ticketFor(a.token);
    expect((await api("GET", "/api/me", { headers: { authorization: `Bearer ${ticket}` } })).status).toBe(
      401,
    );
    expect((await api("GET", `/api/me?ticket=${ticket}`)).status).toBe(401);
  });
});
