import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { spendBudget } from "../../src/durable/inbox/budget-client";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { expectApiError } from "../helpers/checks";
import { ofType, openSocket } from "../helpers/socket";

/**
 * The per-user budgets, small here (test/vitest.config.ts, "limits"): 6 messages and 10000 bytes
 * per hour-long window, 3 conversations per hour, 1000 upload bytes per hour, leases of 2 messages;
 * each room also allows 4 frames per user.
 */
const limits = limitsFrom(env);

const send = (token: string, conversationId: string, body: string) =>
  api("POST", `/api/conversations/${conversationId}/messages`, { token, body: { body } });

describe("per-user budgets", () => {
  it("holds a user's message budget across rooms: the next room refuses once it is spent", async () => {
    expect(limits.userBudgets.messages.capacity).toBe(6);
    const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
    const { conversation: one } = await startConversation(a.token, [b.user.id]);
    const { conversation: two } = await startConversation(a.token, [c.user.id]);
    // 4 in the first room (its own per-room rate), 2 in the second: the user's 6.
    for (let i = 0; i < 4; i++) await sendMessage(a.token, one.id, `one ${i}`);
    for (let i = 0; i < 2; i++) await sendMessage(a.token, two.id, `two ${i}`);
    const refused = await send(a.token, two.id, "two 2");
    expect(expectApiError(refused, "send over the user's budget", 429)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // The socket hears the same refusal as an error frame naming the send.
    const sa = await openSocket(`/api/conversations/${two.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "send", body: "by socket", clientId: "s1" });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited", clientId: "s1" });
    sa.close();
    const history = await api("GET", `/api/conversations/${two.id}/messages`, { token: c.token });
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual(["two 0", "two 1"]);
  });

  it("keeps a spent budget through the eviction of the user's object and the rooms", async () => {
    const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
    const { conversation: one } = await startConversation(a.token, [b.user.id]);
    const { conversation: two } = await startConversation(a.token, [c.user.id]);
    for (let i = 0; i < 4; i++) await sendMessage(a.token, one.id, `one ${i}`);
    for (let i = 0; i < 2; i++) await sendMessage(a.token, two.id, `two ${i}`);
    await evictDurableObject(env.USER_INBOX.getByName(a.user.id));
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(one.id));
    await evictDurableObject(env.CONVERSATION_ROOM.getByName(two.id));
    // Held in memory, the budget would be whole again now.
    expect((await send(a.token, two.id, "after eviction")).status).toBe(429);
    expect((await send(a.token, one.id, "after eviction")).status).toBe(429);
  });

  it("spends message bytes as well as messages: long messages run out before the count does", async () => {
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const long = "x".repeat(3000);
    for (let i = 0; i < 3; i++) expect((await send(a.token, conversation.id, long)).status).toBe(201);
    // 9000 of 10000 bytes spent (and leased): a fourth long one is refused, a short one still goes.
    expect((await send(a.token, conversation.id, long)).status).toBe(429);
    expect((await send(a.token, conversation.id, "short")).status).toBe(201);
  });

  it("limits conversations created per hour; asking for an existing direct conversation costs nothing", async () => {
    expect(limits.userBudgets.conversations.capacity).toBe(3);
    const [a, b, c] = await Promise.all([registerUser(), registerUser(), registerUser()]);
    await startConversation(a.token, [b.user.id]);
    for (let i = 0; i < 3; i++) await startConversation(a.token, [b.user.id]); // returned, not created
    await startConversation(a.token, [b.user.id, c.user.id], { title: "g1" });
    await startConversation(a.token, [b.user.id, c.user.id], { title: "g2" });
    const refused = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "g3", body: "hello" },
    });
    expect(expectApiError(refused, "a fourth conversation in the hour", 429)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Nothing of the refused one exists: the inbox lists three.
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations).toHaveLength(3);
    // Another user's budget is their own.
    await startConversation(b.token, [c.user.id]);
  });

  it("charges uploads to the user's upload budget through the one hook the attachments call", async () => {
    const a = await registerUser();
    await spendBudget(env, a.user.id, "uploadBytes", 600);
    const refusal = await spendBudget(env, a.user.id, "uploadBytes", 600).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refusal).toMatchObject({ code: "rate_limited" });
    expect((refusal as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0);
    await spendBudget(env, a.user.id, "uploadBytes", 400);
  });

  it("spends the room's frame budget on frames that fail: bad edits and malformed frames are not free", async () => {
    expect(limits.messageRatePer10s).toBe(4);
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "edit", messageId: "m_nope", body: "x" });
    sa.send({ type: "delete", messageId: "m_nope" });
    sa.send({ type: "bogus" });
    sa.send({ type: "send", body: "   ", clientId: "empty" });
    const failures = await sa.collect(ofType("error"), 4);
    expect(failures.map((e) => e.code)).not.toContain("rate_limited");
    // Four frames failed: the fifth, a good one, is over the room's rate.
    sa.send({ type: "send", body: "fine", clientId: "ok" });
    expect(await sa.next((e) => e.type === "error" && e.clientId === "ok")).toMatchObject({
      code: "rate_limited",
    });
    sa.close();
  });
});
