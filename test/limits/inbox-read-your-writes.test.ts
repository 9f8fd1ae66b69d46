import { describe, expect, it } from "vitest";
import type { Conversation } from "../../src/protocol/models";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { inboxPage, inboxWhen } from "../helpers/inbox";

/**
 * INBOX_NOTIFY_WINDOW_MS is an hour here: no coalesced notice goes out during the test. What a
 * caller sees in their own inbox right after a REST write was put there by that write itself.
 */
/** The conversation as the caller's inbox lists it (undefined when it does not). */
const mine = async (token: string, id: string): Promise<Conversation | undefined> =>
  (await inboxPage(token)).conversations.find((x) => x.id === id);

describe("a REST client reads its own writes in its inbox", () => {
  it("has each of its writes in its inbox when the call answers; the others' inboxes wait for the window", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cy");
    // Their inboxes fill themselves from the directory on first use: get that done first.
    for (const u of [a, b, c]) expect((await inboxPage(u.token)).conversations).toEqual([]);

    const { conversation: group } = await startConversation(a.token, [b.user.id], { title: "ryw" });
    expect(await mine(a.token, group.id)).toMatchObject({ lastSeq: 0, participantCount: 2 });

    const sent = await sendMessage(a.token, group.id, "first");
    expect(await mine(a.token, group.id)).toMatchObject({ lastSeq: 1, lastMessage: { body: "first" } });

    await api("PATCH", `/api/conversations/${group.id}/messages/${sent.id}`, {
      token: a.token,
      body: { body: "first, edited" },
    });
    expect((await mine(a.token, group.id))?.lastMessage).toMatchObject({ body: "first, edited" });

    await api("DELETE", `/api/conversations/${group.id}/messages/${sent.id}`, { token: a.token });
    expect((await mine(a.token, group.id))?.lastMessage).toMatchObject({
      body: "",
      deletedAt: expect.any(String),
    });

    // B was told of the new group at once (a creation is not coalesced), but not of A's message:
    // that waits for the room's window.
    await inboxWhen(b.token, (page) => page.conversations.some((x) => x.id === group.id));
    expect(await mine(b.token, group.id)).toMatchObject({ lastSeq: 0, unreadCount: 0 });

    await api("POST", `/api/conversations/${group.id}/read`, { token: b.token, body: { seq: 1 } });
    expect(await mine(b.token, group.id)).toMatchObject({ lastSeq: 1, lastReadSeq: 1, unreadCount: 0 });

    await api("POST", `/api/conversations/${group.id}/participants`, {
      token: a.token,
      body: { userIds: [c.user.id] },
    });
    expect(await mine(a.token, group.id)).toMatchObject({ participantCount: 3 });
    expect(await mine(c.token, group.id)).toMatchObject({ participantCount: 3 });

    expect((await api("DELETE", `/api/conversations/${group.id}`, { token: c.token })).status).toBe(204);
    expect(await mine(c.token, group.id)).toBeUndefined();

    const { conversation: direct } = await startConversation(a.token, [b.user.id], { body: "psst" });
    expect(await mine(a.token, direct.id)).toMatchObject({ lastSeq: 1 });
    expect((await api("DELETE", `/api/conversations/${direct.id}`, { token: a.token })).status).toBe(204);
    expect(await mine(a.token, direct.id)).toBeUndefined();
  });

  it("has its replies, reactions, edits of a quoted message, renames, mute and removals in its inbox when the call answers", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cy");
    for (const u of [a, b, c]) expect((await inboxPage(u.token)).conversations).toEqual([]);
    // At most MESSAGE_RATE_PER_10S (4) writes per person here.
    const { conversation, message } = await startConversation(a.token, [b.user.id, c.user.id], {
      title: "before",
      body: "hi",
    });
    const id = conversation.id;
    if (!message) throw new Error("no first message");

    const reply = await api("POST", `/api/conversations/${id}/messages`, {
      token: b.token,
      body: { body: "hello back", replyTo: message.id },
    });
    expect(reply.status).toBe(201);
    expect((await mine(b.token, id))?.lastMessage).toMatchObject({
      body: "hello back",
      replyTo: { id: message.id, body: "hi" },
    });

    const path = `/api/conversations/${id}/messages/${reply.body.message.id}/reactions/${encodeURIComponent("🎉")}`;
    expect((await api("PUT", path, { token: a.token })).status).toBe(204);
    expect((await mine(a.token, id))?.lastMessage?.reactions).toEqual([{ emoji: "🎉", count: 1 }]);

    await api("PATCH", `/api/conversations/${id}/messages/${message.id}`, {
      token: a.token,
      body: { body: "hi, edited" },
    });
    expect((await mine(a.token, id))?.lastMessage?.replyTo).toMatchObject({ body: "hi, edited" });

    expect(
      (await api("PATCH", `/api/conversations/${id}`, { token: c.token, body: { title: "after" } })).status,
    ).toBe(200);
    expect(await mine(c.token, id)).toMatchObject({ title: "after" });

    const settings = `/api/conversations/${id}/settings`;
    expect((await api("PATCH", settings, { token: b.token, body: { muted: true } })).status).toBe(200);
    expect(await mine(b.token, id)).toMatchObject({ muted: true });

    const removal = await api("DELETE", `/api/conversations/${id}/participants/${c.user.id}`, {
      token: a.token,
    });
    expect(removal.status).toBe(204);
    expect(await mine(a.token, id)).toMatchObject({ participantCount: 2 });
    expect(await mine(c.token, id)).toBeUndefined();
  });
});
