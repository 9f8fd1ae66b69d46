import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

describe("inbox sockets", () => {
  it("tells both users about a new conversation and its activity, including the sender's other devices", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const ia = await openSocket("/api/inbox/ws", { token: a.token });
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await Promise.all([ia.next(ofType("ready")), ib.next(ofType("ready"))]);
    const { conversation } = await startConversation(a.token, [b.user.id]);
    expect((await ib.next(ofType("conversation.created"))).conversation).toMatchObject({
      id: conversation.id,
      kind: "direct",
    });
    expect((await ia.next(ofType("conversation.created"))).conversation.id).toBe(conversation.id);
    await sendMessage(a.token, conversation.id, "ping you");
    const forB = await ib.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 1);
    expect(forB.conversation).toMatchObject({ unreadCount: 1, lastMessage: { body: "ping you" } });
    const forA = await ia.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 1);
    expect(forA.conversation).toMatchObject({ unreadCount: 0 });
    await api("POST", `/api/conversations/${conversation.id}/read`, { token: b.token, body: { seq: 1 } });
    expect(
      (await ib.next((e) => e.type === "conversation.updated" && e.conversation.unreadCount === 0))
        .conversation.lastReadSeq,
    ).toBe(1);
    const ib2 = await openSocket("/api/inbox/ws", { token: b.token });
    await ib2.next(ofType("ready"));
    await api("DELETE", `/api/conversations/${conversation.id}`, { token: b.token });
    expect(await ib2.next(ofType("conversation.removed"))).toEqual({
      type: "conversation.removed",
      conversationId: conversation.id,
    });
    for (const s of [ia, ib, ib2]) s.close();
  });

  it("never tells a non-participant about a conversation", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const eve = await registerUser("Eve");
    const ie = await openSocket("/api/inbox/ws", { token: eve.token });
    await ie.next(ofType("ready"));
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));
    const { conversation } = await startConversation(a.token, [b.user.id], { body: "private" });
    // B's inbox hears of it (created with its first message already in it): by then Eve's would have too.
    await ib.next(
      (e) =>
        (e.type === "conversation.created" || e.type === "conversation.updated") &&
        e.conversation.id === conversation.id &&
        e.conversation.lastSeq === 1,
    );
    expect(ie.events.filter((e) => e.type !== "ready")).toEqual([]);
    ie.close();
    ib.close();
  });
});
