import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { RoomEventSchema } from "../../src/protocol/frames";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";

const wsPath = (id: string, since?: number) =>
  `/api/conversations/${id}/ws${since === undefined ? "" : `?since=${since}`}`;

async function pair() {
  const a = await registerUser("Ann");
  const b = await registerUser("Bob");
  const { conversation } = await startConversation(a.token, [b.user.id]);
  return { a, b, id: conversation.id };
}

async function ready(socket: TestSocket) {
  return socket.next(ofType("ready"));
}

describe("conversation sockets", () => {
  it("delivers messages to the other participant in seq order and acks the sender", async () => {
    const { a, b, id } = await pair();
    const sa = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id), { token: b.token });
    expect(await ready(sa)).toMatchObject({ type: "ready", conversationId: id, lastSeq: 0 });
    await ready(sb);
    for (let i = 0; i < 5; i++) {
      sa.send({ type: "send", body: `a${i}`, clientId: `a-${i}` });
      sb.send({ type: "send", body: `b${i}`, clientId: `b-${i}` });
    }
    const acksA = await sa.collect(ofType("ack"), 5);
    const acksB = await sb.collect(ofType("ack"), 5);
    const seenByA = await sa.collect(ofType("message"), 5);
    const seenByB = await sb.collect(ofType("message"), 5);
    for (const e of [...acksA, ...acksB, ...seenByA, ...seenByB])
      expect(RoomEventSchema.safeParse(e).success).toBe(true);
    expect(acksA.map((e) => e.clientId)).toEqual(["a-0", "a-1", "a-2", "a-3", "a-4"]);
    // Nobody receives their own message as a `message` event.
    expect(seenByA.every((e) => e.message.sender.id === b.user.id)).toBe(true);
    expect(seenByB.every((e) => e.message.sender.id === a.user.id)).toBe(true);
    // Both sides agree on one order: merging acks and messages gives seq 1..10 on each side.
    const orderA = [...acksA, ...seenByA].map((e) => e.message.seq).sort((x, y) => x - y);
    const orderB = [...acksB, ...seenByB].map((e) => e.message.seq).sort((x, y) => x - y);
    expect(orderA).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(orderB).toEqual(orderA);
    // Messages arrive in increasing seq on each socket.
    const arrivals = sb.events.filter((e) => e.type === "message").map((e) => e.message.seq);
    expect(arrivals).toEqual([...arrivals].sort((x, y) => x - y));
    const history = await api("GET", `/api/conversations/${id}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual(orderA);
    sa.close();
    sb.close();
  });

  it("answers a resent clientId with an ack of the original message", async () => {
    const { a, id } = await pair();
    const sa = await openSocket(wsPath(id), { token: a.token });
    await ready(sa);
    sa.send({ type: "send", body: "once", clientId: "dup" });
    sa.send({ type: "send", body: "once", clientId: "dup" });
    const [first, second] = await sa.collect(ofType("ack"), 2);
    expect(second.message).toEqual(first.message);
    expect(
      (await api("GET", `/api/conversations/${id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(1);
    sa.close();
  });

  it("refuses sockets before the upgrade: non-participant, no token, no Upgrade, foreign Origin", async () => {
    const { a, id } = await pair();
    const eve = await registerUser("Eve");
    await expect(openSocket(wsPath(id), { token: eve.token })).rejects.toMatchObject({ status: 404 });
    await expect(openSocket(wsPath(id))).rejects.toMatchObject({ status: 401 });
    await expect(
      openSocket(wsPath(id), { token: a.token, origin: "https://evil.example" }),
    ).rejects.toMatchObject({ status: 403 });
    const same = await openSocket(wsPath(id), { token: a.token, origin: "https://chat.test" });
    await ready(same);
    same.close();
    const plain = await api("GET", wsPath(id), { token: a.token });
    expect(plain.status).toBe(426);
    expect(plain.body.error.code).toBe("upgrade_required");
    await expect(openSocket("/api/inbox/ws", { token: "garbage" })).rejects.toMatchObject({ status: 401 });
  });

  it("replays exactly the missed messages after a reconnect with since", async () => {
    const { a, b, id } = await pair();
    const sb = await openSocket(wsPath(id), { token: b.token });
    await ready(sb);
    await sendMessage(a.token, id, "seen 1");
    await sendMessage(a.token, id, "seen 2");
    const seen = await sb.collect(ofType("message"), 2);
    const lastSeen = seen[1].message.seq;
    sb.close();
    await sb.closed;
    for (let i = 3; i <= 5; i++) await sendMessage(a.token, id, `missed ${i}`);
    const again = await openSocket(wsPath(id, lastSeen), { token: b.token });
    expect(await ready(again)).toMatchObject({ lastSeq: 5 });
    const replay = await again.collect(ofType("message"), 3);
    expect(replay.map((e) => e.message.body)).toEqual(["missed 3", "missed 4", "missed 5"]);
    await sendMessage(a.token, id, "live 6");
    expect((await again.next(ofType("message"))).message.seq).toBe(6);
    expect(again.events.filter((e) => e.type === "message").map((e) => e.message.seq)).toEqual([3, 4, 5, 6]);
    again.close();
  });

  it("passes typing, read and presence to the others", async () => {
    const { a, b, id } = await pair();
    const sa = await openSocket(wsPath(id), { token: a.token });
    await ready(sa);
    const sb = await openSocket(wsPath(id), { token: b.token });
    expect((await ready(sb)).online.sort()).toEqual([a.user.id, b.user.id].sort());
    expect(await sa.next(ofType("presence"))).toEqual({ type: "presence", userId: b.user.id, online: true });
    sb.send({ type: "typing", active: true });
    expect(await sa.next(ofType("typing"))).toEqual({ type: "typing", userId: b.user.id, active: true });
    sa.send({ type: "send", body: "read me", clientId: "r1" });
    const msg = await sb.next(ofType("message"));
    sb.send({ type: "read", seq: msg.message.seq });
    expect(await sa.next(ofType("read"))).toEqual({ type: "read", userId: b.user.id, seq: 1 });
    sb.close();
    expect(await sa.next((e) => e.type === "presence" && e.online === false)).toEqual({
      type: "presence",
      userId: b.user.id,
      online: false,
    });
    // The typer never hears their own typing.
    expect(sb.events.some((e) => e.type === "typing")).toBe(false);
    sa.close();
  });

  it("fans out REST sends, edits and deletes like socket ones, to the sender's other tabs too", async () => {
    const { a, b, id } = await pair();
    const tab1 = await openSocket(wsPath(id), { token: a.token });
    const tab2 = await openSocket(wsPath(id), { token: a.token });
    const sb = await openSocket(wsPath(id), { token: b.token });
    await Promise.all([ready(tab1), ready(tab2), ready(sb)]);
    tab1.send({ type: "send", body: "from tab 1", clientId: "t1" });
    expect((await tab1.next(ofType("ack"))).message.body).toBe("from tab 1");
    expect((await tab2.next(ofType("message"))).message.body).toBe("from tab 1");
    const rest = await sendMessage(a.token, id, "from rest");
    for (const s of [tab1, tab2, sb])
      expect((await s.next((e) => e.type === "message" && e.message.seq === rest.seq)).message.body).toBe(
        "from rest",
      );
    await api("PATCH", `/api/conversations/${id}/messages/${rest.id}`, {
      token: a.token,
      body: { body: "edited" },
    });
    expect((await sb.next(ofType("message.updated"))).message).toMatchObject({
      body: "edited",
      seq: rest.seq,
    });
    tab2.send({ type: "delete", messageId: rest.id });
    expect((await sb.next(ofType("message.deleted"))).message).toMatchObject({
      body: "",
      seq: rest.seq,
      deletedAt: expect.any(String),
    });
    sb.send({ type: "edit", messageId: rest.id, body: "not mine" });
    expect(await sb.next(ofType("error"))).toMatchObject({ code: "forbidden" });
    for (const s of [tab1, tab2, sb]) s.close();
  });

  it("answers bad frames with an error event and keeps the socket usable", async () => {
    const { a, id } = await pair();
    const sa = await openSocket(wsPath(id), { token: a.token });
    await ready(sa);
    sa.sendRaw("{not json");
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "bad_request" });
    sa.send({ type: "dance" });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "bad_request" });
    sa.send({ type: "send", body: "   ", clientId: "empty" });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "validation_failed", clientId: "empty" });
    sa.send({ type: "send", body: 42, clientId: "wrong-type" });
    expect(await sa.next(ofType("error"))).toMatchObject({
      code: "validation_failed",
      clientId: "wrong-type",
    });
    sa.send({ type: "read", seq: -3 });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "validation_failed" });
    sa.send({ type: "send", body: "still here", clientId: "ok" });
    expect((await sa.next(ofType("ack"))).message).toMatchObject({ seq: 1, body: "still here" });
    expect(
      (await api("GET", `/api/conversations/${id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(1);
    sa.close();
  });

  it("closes an over-size frame with 1009 and stores nothing of it", async () => {
    const { a, id } = await pair();
    const sa = await openSocket(wsPath(id), { token: a.token });
    await ready(sa);
    sa.send({ type: "send", body: "x".repeat(17_000), clientId: "big" });
    expect((await sa.closed).code).toBe(1009);
    expect(
      (await api("GET", `/api/conversations/${id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(0);
  });

  it("closes a removed participant's sockets with 4403", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "g" });
    const sc = await openSocket(wsPath(conversation.id), { token: c.token });
    await ready(sc);
    await api("DELETE", `/api/conversations/${conversation.id}`, { token: c.token });
    expect((await sc.closed).code).toBe(4403);
  });

  it("closes a socket whose token expired with 4401 (its next frame, or the room's alarm first)", async () => {
    const { a, id } = await pair();
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(new TextEncoder().encode("test-secret-that-is-long-enough-0123456789"));
    const sa = await openSocket(wsPath(id), { token: shortLived });
    await ready(sa);
    // Wait until the token is past its expiry (whole seconds), then send one frame. The room's
    // alarm may have closed the socket at the expiry already (test/auth/idle-sockets.test.ts).
    while (Date.now() / 1000 < now + 2) await new Promise((r) => setTimeout(r, 100));
    if (sa.ws.readyState === WebSocket.OPEN) sa.send({ type: "typing", active: true });
    expect((await sa.closed).code).toBe(4401);
  });
});
