import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conversation } from "../../src/protocol/models";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

const settings = (id: string) => `/api/conversations/${id}/settings`;

async function inboxEntry(token: string, id: string): Promise<Conversation | undefined> {
  const page = await api("GET", "/api/conversations", { token });
  return page.body.conversations.find((c: Conversation) => c.id === id);
}

describe("mute", () => {
  it("mutes a conversation for one member only: their view, their other devices and D1 say so, unread still counts", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const id = conversation.id;
    expect(conversation.muted).toBe(false);
    const ib = await openSocket("/api/inbox/ws", { token: b.token });
    await ib.next(ofType("ready"));

    const res = await api("PATCH", settings(id), { token: b.token, body: { muted: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, muted: true });
    expect((await ib.next(ofType("conversation.updated"))).conversation).toMatchObject({ id, muted: true });
    expect((await api("GET", `/api/conversations/${id}`, { token: b.token })).body.muted).toBe(true);
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).body.muted).toBe(false);
    await expect.poll(async () => (await inboxEntry(b.token, id))?.muted).toBe(true);

    await sendMessage(a.token, id, "still counted");
    const notice = await ib.next((e) => e.type === "conversation.updated" && e.conversation.lastSeq === 1);
    expect(notice.conversation).toMatchObject({ muted: true, unreadCount: 1 });
    expect((await api("GET", `/api/conversations/${id}`, { token: b.token })).body.unreadCount).toBe(1);

    await evictDurableObject(env.CONVERSATION_ROOM.getByName(id));
    expect((await api("GET", `/api/conversations/${id}`, { token: b.token })).body.muted).toBe(true);
    expect((await api("PATCH", settings(id), { token: b.token, body: { muted: false } })).body.muted).toBe(
      false,
    );
    await expect.poll(async () => (await inboxEntry(b.token, id))?.muted).toBe(false);
    ib.close();
  });

  it("refuses bad settings and non-participants, changing nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const eve = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    for (const body of [{ muted: "yes" }, {}, { muted: true, extra: 1 }, { muted: null }]) {
      expect((await api("PATCH", settings(conversation.id), { token: a.token, body })).status).toBe(422);
    }
    expect(
      (await api("PATCH", settings(conversation.id), { token: eve.token, body: { muted: true } })).status,
    ).toBe(404);
    expect((await api("GET", `/api/conversations/${conversation.id}`, { token: a.token })).body.muted).toBe(
      false,
    );
  });
});

describe("block", () => {
  it("lists, blocks and unblocks people; blocking twice or unblocking a stranger is fine", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob", "Blocked");
    expect((await api("GET", "/api/me/blocks", { token: a.token })).body).toEqual({ users: [] });
    expect((await api("POST", `/api/users/${b.user.id}/block`, { token: a.token })).status).toBe(204);
    expect((await api("POST", `/api/users/${b.user.id}/block`, { token: a.token })).status).toBe(204);
    expect((await api("GET", "/api/me/blocks", { token: a.token })).body).toEqual({
      users: [{ id: b.user.id, firstName: "Bob", lastName: "Blocked", avatarUrl: null }],
    });
    // Blocks are the blocker's own: the blocked person's list stays empty.
    expect((await api("GET", "/api/me/blocks", { token: b.token })).body).toEqual({ users: [] });
    expect((await api("POST", `/api/users/${a.user.id}/block`, { token: a.token })).status).toBe(422);
    expect((await api("POST", "/api/users/u_nobody/block", { token: a.token })).status).toBe(404);
    expect((await api("POST", `/api/users/${b.user.id}/block`, {})).status).toBe(401);
    expect((await api("GET", "/api/me/blocks", {})).status).toBe(401);
    expect((await api("DELETE", `/api/users/${b.user.id}/block`, { token: a.token })).status).toBe(204);
    expect((await api("DELETE", `/api/users/${b.user.id}/block`, { token: a.token })).status).toBe(204);
    expect((await api("GET", "/api/me/blocks", { token: a.token })).body).toEqual({ users: [] });
  });

  it("keeps a blocked person from starting a direct conversation or a group with the blocker, answering as for an unknown user", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cat");
    await api("POST", `/api/users/${a.user.id}/block`, { token: b.token }); // Bob blocks Ann
    const direct = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id] },
    });
    const unknown = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: ["u_nobody"] },
    });
    expect(direct.status).toBe(422);
    // The very answer of an unknown user, only the id differs: nothing tells Ann she is blocked.
    expect(direct.body).toEqual(JSON.parse(JSON.stringify(unknown.body).replaceAll("u_nobody", b.user.id)));
    const group = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "Plans" },
    });
    expect(group.status).toBe(422);
    expect(group.body.error.details).toEqual([
      { path: "participantIds", message: `unknown user ${b.user.id}` },
    ]);
    // Adding Bob to a group of Ann's is refused the same way; others can still be added.
    const ac = (await startConversation(a.token, [c.user.id], { title: "Ann and Cat" })).conversation;
    const add = await api("POST", `/api/conversations/${ac.id}/participants`, {
      token: a.token,
      body: { userIds: [b.user.id] },
    });
    expect(add.status).toBe(422);
    expect(add.body.error.details).toEqual([{ path: "userIds", message: `unknown user ${b.user.id}` }]);
    expect(
      (await api("GET", `/api/conversations/${ac.id}`, { token: a.token })).body.participants,
    ).toHaveLength(2);
    // The blocker may still start one, and anyone else may add Bob with Ann.
    expect(
      (await api("POST", "/api/conversations", { token: b.token, body: { participantIds: [a.user.id] } }))
        .status,
    ).toBe(201);
    const byCat = await api("POST", "/api/conversations", {
      token: c.token,
      body: { participantIds: [a.user.id, b.user.id], title: "All three" },
    });
    expect(byCat.status).toBe(201);
    // Messages in a shared group are still delivered both ways.
    const sb = await openSocket(`/api/conversations/${byCat.body.conversation.id}/ws`, { token: b.token });
    await sb.next(ofType("ready"));
    await sendMessage(a.token, byCat.body.conversation.id, "hello all");
    expect((await sb.next(ofType("message"))).message.body).toBe("hello all");
    sb.close();
    // Unblocked: Ann can start a group with Bob again.
    await api("DELETE", `/api/users/${a.user.id}/block`, { token: b.token });
    expect(
      (
        await api("POST", "/api/conversations", {
          token: a.token,
          body: { participantIds: [b.user.id], title: "Now" },
        })
      ).status,
    ).toBe(201);
  });
});
