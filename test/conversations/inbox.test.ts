import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import type { Conversation } from "../../src/protocol/models";
import { inboxWhen } from "../helpers/inbox";

/** The first conversation of the user's inbox listing. */
const inboxOf = async (token: string) =>
  (await api<{ conversations: Conversation[] }>("GET", "/api/conversations", { token })).body
    .conversations[0]!;

describe("inbox, read state and leaving", () => {
  it("moves unread counts with sends and reads, never backwards", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "one");
    await sendMessage(a.token, conversation.id, "two");
    await sendMessage(a.token, conversation.id, "three");
    // A's sends reach B's inbox with the room's next notice; A's own inbox has them at once.
    await inboxWhen(b.token, (page) => page.conversations[0]?.lastSeq === 3);
    expect(await inboxOf(b.token)).toMatchObject({
      unreadCount: 3,
      lastReadSeq: 0,
      lastSeq: 3,
      lastMessage: { body: "three" },
    });
    expect(await inboxOf(a.token)).toMatchObject({ unreadCount: 0, lastReadSeq: 3 });

    expect(
      (await api("POST", `/api/conversations/${conversation.id}/read`, { token: b.token, body: { seq: 2 } }))
        .status,
    ).toBe(204);
    expect(await inboxOf(b.token)).toMatchObject({ unreadCount: 1, lastReadSeq: 2 });
    await api("POST", `/api/conversations/${conversation.id}/read`, { token: b.token, body: { seq: 1 } });
    expect(await inboxOf(b.token)).toMatchObject({ unreadCount: 1, lastReadSeq: 2 });
    await api("POST", `/api/conversations/${conversation.id}/read`, { token: b.token, body: { seq: 99 } });
    expect(await inboxOf(b.token)).toMatchObject({ unreadCount: 0, lastReadSeq: 3 });
    const view = await api("GET", `/api/conversations/${conversation.id}`, { token: b.token });
    expect(view.body).toMatchObject({ unreadCount: 0, lastReadSeq: 3, lastSeq: 3 });
    const bad = await api("POST", `/api/conversations/${conversation.id}/read`, {
      token: b.token,
      body: { seq: -1 },
    });
    expect(bad.status).toBe(422);
  });

  it("orders the inbox by latest activity and pages it with a cursor", async () => {
    const me = await registerUser();
    const others = await Promise.all([registerUser(), registerUser(), registerUser()]);
    const convs: Conversation[] = [];
    for (const o of others) convs.push((await startConversation(me.token, [o.user.id])).conversation);
    await sendMessage(others[0]!.token, convs[0]!.id, "newest");
    await inboxWhen(me.token, (page) => page.conversations[0]?.id === convs[0]!.id);
    const page1 = await api("GET", "/api/conversations?limit=2", { token: me.token });
    expect(page1.body.conversations.map((c: Conversation) => c.id)).toEqual([convs[0]!.id, convs[2]!.id]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await api(
      "GET",
      `/api/conversations?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
      { token: me.token },
    );
    expect(page2.body.conversations.map((c: Conversation) => c.id)).toEqual([convs[1]!.id]);
    expect(page2.body.nextCursor).toBeNull();
    expect((await api("GET", "/api/conversations?cursor=garbage", { token: me.token })).status).toBe(422);
  });

  it("hides a direct conversation until its next message", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id], { body: "hey" });
    expect((await api("DELETE", `/api/conversations/${conversation.id}`, { token: a.token })).status).toBe(
      204,
    );
    expect((await api("GET", "/api/conversations", { token: a.token })).body.conversations).toHaveLength(0);
    expect((await inboxWhen(b.token, (page) => page.conversations.length > 0)).conversations).toHaveLength(1);
    // Still a participant: the whole history stays readable.
    expect(
      (await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(1);
    await sendMessage(b.token, conversation.id, "are you there?");
    const back = { body: await inboxWhen(a.token, (page) => page.conversations.length > 0) };
    expect(back.body.conversations.map((c: Conversation) => c.id)).toEqual([conversation.id]);
    expect(back.body.conversations[0]?.unreadCount).toBe(1);
  });

  it("lets a member leave a group; others keep the history", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], {
      title: "trio",
      body: "hi all",
    });
    expect((await api("DELETE", `/api/conversations/${conversation.id}`, { token: c.token })).status).toBe(
      204,
    );
    expect((await api("GET", `/api/conversations/${conversation.id}`, { token: c.token })).status).toBe(404);
    expect((await api("GET", "/api/conversations", { token: c.token })).body.conversations).toHaveLength(0);
    const view = await api("GET", `/api/conversations/${conversation.id}`, { token: a.token });
    expect(view.body.participants.map((u: { id: string }) => u.id).sort()).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    expect(
      (await api("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token })).body.messages,
    ).toHaveLength(1);
  });

  it("adds participants to groups only", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const group = (await startConversation(a.token, [b.user.id], { title: "grow" })).conversation;
    const added = await api("POST", `/api/conversations/${group.id}/participants`, {
      token: a.token,
      body: { userIds: [c.user.id] },
    });
    expect(added.status).toBe(200);
    expect(added.body.participants).toHaveLength(3);
    expect((await api("GET", `/api/conversations/${group.id}`, { token: c.token })).status).toBe(200);
    const direct = (await startConversation(a.token, [b.user.id])).conversation;
    const refused = await api("POST", `/api/conversations/${direct.id}/participants`, {
      token: a.token,
      body: { userIds: [c.user.id] },
    });
    expect(refused.status).toBe(422);
    const unknown = await api("POST", `/api/conversations/${group.id}/participants`, {
      token: a.token,
      body: { userIds: ["u_nobody"] },
    });
    expect(unknown.status).toBe(422);
  });
});
