import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Limits } from "../../src/config";
import { api, registerUser, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

/** Changes one room's limits in place (the settings are per deployment; tests need them per room). */
async function setRoomLimits(conversationId: string, patch: Partial<Limits>): Promise<void> {
  const stub = env.CONVERSATION_ROOM.getByName(conversationId);
  await runInDurableObject(stub, (instance) => {
    const room = instance as unknown as { limits: Limits };
    Object.assign(room, { limits: { ...room.limits, ...patch } });
  });
}

describe("room limits", () => {
  it("answers rate_limited past the per-user message rate and stores nothing of it", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await setRoomLimits(conversation.id, { messageRatePer10s: 3 });
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    for (let i = 0; i < 5; i++) sa.send({ type: "send", body: `m${i}`, clientId: `r${i}` });
    const acks = await sa.collect(ofType("ack"), 3);
    const errors = await sa.collect(ofType("error"), 2);
    expect(acks.map((e) => e.clientId)).toEqual(["r0", "r1", "r2"]);
    expect(errors).toEqual([
      expect.objectContaining({ code: "rate_limited", clientId: "r3" }),
      expect.objectContaining({ code: "rate_limited", clientId: "r4" }),
    ]);
    const rest = await api("POST", `/api/conversations/${conversation.id}/messages`, {
      token: a.token,
      body: { body: "rest" },
    });
    expect(rest.status).toBe(429);
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(
      (await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(3);
    sa.close();
  });

  it("coalesces inbox notices: ten messages in one window make one update with the latest state", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "busy" });
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));
    const stub = env.CONVERSATION_ROOM.getByName(conversation.id);
    // Let any notice of the creation go out first, then widen the window so nothing fires by itself.
    await runDurableObjectAlarm(stub);
    await setRoomLimits(conversation.id, { inboxNotifyWindowMs: 3_600_000 });
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    for (let i = 1; i <= 10; i++) sa.send({ type: "send", body: `burst ${i}`, clientId: `b${i}` });
    await sa.collect(ofType("ack"), 10);
    const updates = () => ib.events.filter((e) => e.type === "conversation.updated").length;
    const before = updates();
    // The alarm that flushes the D1 outbox runs, but the inbox window has not passed: no notice yet.
    await runDurableObjectAlarm(stub);
    expect(updates()).toBe(before);
    // Let the window pass.
    await runInDurableObject(stub, (instance) => {
      Object.assign(instance, { inboxDueAt: Date.now() });
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const update = await ib.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 10);
    expect(update.conversation).toMatchObject({ unreadCount: 10, lastMessage: { body: "burst 10" } });
    expect(updates()).toBe(before + 1);
    sa.close();
    ib.close();
  });

  it("has no presence in rooms over PRESENCE_MAX_MEMBERS: no presence events, an empty online list", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await setRoomLimits(conversation.id, { presenceMaxMembers: 1 });
    const path = `/api/conversations/${conversation.id}/ws`;
    const sa = await openSocket(path, { token: a.token });
    await sa.next(ofType("ready"));
    const sb = await openSocket(path, { token: b.token });
    expect((await sb.next(ofType("ready"))).online).toEqual([]);
    sb.send({ type: "typing", active: true });
    await sa.next(ofType("typing"));
    expect(sa.events.some((e) => e.type === "presence")).toBe(false);
    sa.close();
    sb.close();
  });

  it("sends a group commit as one array frame to ?batch=1 sockets and one frame per event to others", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/ws`;
    const batched = await openSocket(`${path}?batch=1`, { token: b.token });
    const plain = await openSocket(path, { token: b.token });
    await Promise.all([batched.next(ofType("ready")), plain.next(ofType("ready"))]);
    const stub = env.CONVERSATION_ROOM.getByName(conversation.id);
    // Three sends accepted before one commit: a group, as when frames arrive together.
    await runInDurableObject(stub, (instance) => {
      const room = instance as unknown as {
        acceptSend(userId: string, body: string, clientId: string | null, from: WebSocket | null): unknown;
        commitPending(): void;
      };
      for (let i = 1; i <= 3; i++) room.acceptSend(a.user.id, `grouped ${i}`, `g${i}`, null);
      room.commitPending();
    });
    const viaBatch = await batched.collect(ofType("message"), 3);
    const viaPlain = await plain.collect(ofType("message"), 3);
    expect(viaBatch.map((e) => e.message.seq)).toEqual([1, 2, 3]);
    expect(viaPlain.map((e) => e.message.seq)).toEqual([1, 2, 3]);
    expect(batched.frames.filter(Array.isArray)).toHaveLength(1);
    expect(plain.frames.some(Array.isArray)).toBe(false);
    batched.close();
    plain.close();
  });
});
