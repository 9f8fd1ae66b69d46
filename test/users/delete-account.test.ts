import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conversation, Message, User } from "../../src/protocol/models";
import type { HistoryPage } from "../../src/protocol/responses";
import { openDb } from "../../src/db/client";
import { findUserById, updateUser } from "../../src/db/users";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { d1MessageRows } from "../helpers/d1";
import { type IdpKey, TestIdp, idpToken, newKey, newSub } from "../helpers/idp";
import { inboxWhen } from "../helpers/inbox";
import { newPushClient } from "../helpers/push-service";
import { type TestSocket, ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * API.md, "Your data": DELETE /api/me. The account becomes "Deleted user", its messages tombstones
 * for everyone (live, in history, in D1), its sockets close 4401, its tokens, tickets and push
 * subscriptions stop working; a wrong password changes nothing.
 */

const DELETED = { firstName: "Deleted user", lastName: "", avatarUrl: null };

const idp = new TestIdp();
let key: IdpKey;
beforeAll(async () => {
  key = await newKey("ES256");
  idp.publish([key]);
  idp.install();
});
afterAll(() => idp.uninstall());

async function connect(path: string, token: string): Promise<TestSocket> {
  const socket = await openSocket(path, { token });
  await socket.next(ofType("ready"));
  return socket;
}

const deleteMe = (token: string, body?: unknown) =>
  api("DELETE", "/api/me", body === undefined ? { token } : { token, body });

async function history(id: string, token: string): Promise<Message[]> {
  const res = await api<HistoryPage>("GET", `/api/conversations/${id}/messages?limit=100`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body.messages;
}

describe("DELETE /api/me", () => {
  it("closes the user's sockets with 4401, refuses their tokens and tickets, and shows them as Deleted user", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Gone"), registerUser("Bob", "Stays")]);
    const { conversation } = await startConversation(ada.token, [bob.user.id], { body: "ada one" });
    const id = conversation.id;
    await sendMessage(bob.token, id, "bob answers");
    await sendMessage(ada.token, id, "ada two");
    const adaRoom = await connect(`/api/conversations/${id}/ws`, ada.token);
    const adaInbox = await connect("/api/inbox/ws", ada.token);
    const bobRoom = await connect(`/api/conversations/${id}/ws`, bob.token);
    const ticket = (await api<{ ticket: string }>("POST", "/api/ws-ticket", { token: ada.token })).body
      .ticket;

    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);

    expect((await adaRoom.closed).code).toBe(4401);
    expect((await adaInbox.closed).code).toBe(4401);
    for (const [method, path] of [
      ["GET", "/api/me"],
      ["GET", "/api/me/export"],
      ["GET", "/api/conversations"],
      ["GET", `/api/conversations/${id}/messages`],
      ["POST", "/api/auth/refresh"],
      ["POST", "/api/ws-ticket"],
    ] as const) {
      const res = await api(method, path, { token: ada.token });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
    // Deleting again is no different: the token is void.
    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(401);
    await expect(openSocket(`/api/inbox/ws?ticket=${encodeURIComponent(ticket)}`)).rejects.toMatchObject({
      status: 401,
    });
    const login = await api("POST", "/api/auth/login", {
      body: { email: ada.user.email, password: ada.password },
    });
    expect(login.status).toBe(401);

    // Bob's socket stays open and hears the deletions as any other, the sender now "Deleted user".
    const deleted = await bobRoom.collect(ofType("message.deleted"), 2);
    expect(deleted.map((e) => e.message.seq).sort()).toEqual([1, 3]);
    for (const e of deleted) {
      expect(e.message).toMatchObject({ body: "", deletedAt: expect.any(String) });
      expect(e.message.sender).toEqual({ id: ada.user.id, ...DELETED });
    }
    expect((await api<User>("GET", `/api/users/${ada.user.id}`, { token: bob.token })).body).toEqual({
      id: ada.user.id,
      ...DELETED,
    });
    bobRoom.close();
  });

  it("leaves the other participant the history, with the user's messages as tombstones everywhere", async () => {
    const [ada, bob, cy] = await Promise.all([
      registerUser("Ada", "Gone"),
      registerUser("Bob", "Stays"),
      registerUser("Cy", "Stays"),
    ]);
    const direct = (await startConversation(bob.token, [ada.user.id], { body: "hi ada" })).conversation;
    await sendMessage(ada.token, direct.id, "hello bob");
    await sendMessage(ada.token, direct.id, "bye bob");
    const group = (await startConversation(bob.token, [ada.user.id, cy.user.id], { title: "Three" }))
      .conversation;
    await sendMessage(ada.token, group.id, "ada in the group");
    await sendMessage(cy.token, group.id, "cy in the group");
    // A group Ada left before: her messages there go too.
    const left = (await startConversation(cy.token, [ada.user.id, bob.user.id], { title: "Left" }))
      .conversation;
    await sendMessage(ada.token, left.id, "ada before leaving");
    expect((await api("DELETE", `/api/conversations/${left.id}`, { token: ada.token })).status).toBe(204);

    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);

    const tombstone = { body: "", deletedAt: expect.any(String), sender: { id: ada.user.id, ...DELETED } };
    const directHistory = await history(direct.id, bob.token);
    expect(directHistory.map((m) => m.body)).toEqual(["hi ada", "", ""]);
    expect(directHistory.slice(1)).toEqual([
      expect.objectContaining(tombstone),
      expect.objectContaining(tombstone),
    ]);
    expect((await history(group.id, cy.token)).map((m) => m.body)).toEqual(["", "cy in the group"]);
    expect((await history(left.id, bob.token)).map((m) => m.body)).toEqual([""]);

    // The direct conversation stays Bob's, with "Deleted user" as the other person; the group no
    // longer counts her.
    const directView = (
      await api<Conversation>("GET", `/api/conversations/${direct.id}`, { token: bob.token })
    ).body;
    expect(directView.participants).toContainEqual({ id: ada.user.id, ...DELETED });
    const groupView = (await api<Conversation>("GET", `/api/conversations/${group.id}`, { token: cy.token }))
      .body;
    expect(groupView.participants.map((p) => p.id).sort()).toEqual([bob.user.id, cy.user.id].sort());
    expect(groupView.participantCount).toBe(2);
    const inbox = await inboxWhen(bob.token, (page) =>
      page.conversations.some(
        (c) =>
          c.id === direct.id &&
          c.participants.some((p) => p.id === ada.user.id && p.firstName === "Deleted user"),
      ),
    );
    expect(inbox.conversations.find((c) => c.id === direct.id)?.lastMessage?.body).toBe("");

    // D1's copy: the outbox takes the tombstones to the shard.
    await until("the shard to hold the tombstones", async () =>
      (await d1MessageRows(direct.id)).every((r) => r.seq === 1 || r.body === ""),
    );
    expect((await d1MessageRows(direct.id)).map((r) => r.body)).toEqual(["hi ada", "", ""]);

    // Nobody can start a conversation with or add a deleted account: it is an unknown user.
    const start = await api("POST", "/api/conversations", {
      token: bob.token,
      body: { participantIds: [ada.user.id], title: "again" },
    });
    expect(start.status).toBe(422);
    const add = await api("POST", `/api/conversations/${group.id}/participants`, {
      token: bob.token,
      body: { userIds: [ada.user.id] },
    });
    expect(add.status).toBe(422);
  });

  it("keeps Deleted user in the rooms whatever profile change of before reaches them later", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Renames"), registerUser("Bob", "Stays")]);
    const { conversation } = await startConversation(ada.token, [bob.user.id], { body: "hi" });
    const shown = async () =>
      (
        await api<Conversation>("GET", `/api/conversations/${conversation.id}`, { token: bob.token })
      ).body.participants.find((p) => p.id === ada.user.id);
    // A change the inbox may not have passed on yet when the deletion comes.
    expect((await api("PATCH", "/api/me", { token: ada.token, body: { firstName: "Renamed" } })).status).toBe(
      200,
    );
    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);
    expect(await shown()).toEqual({ id: ada.user.id, ...DELETED });

    // Whatever the inbox's alarm still had to do, and a numbered push of the old profile arriving
    // late: the room keeps "Deleted user".
    await runDurableObjectAlarm(env.USER_INBOX.getByName(ada.user.id));
    await env.CONVERSATION_ROOM.getByName(conversation.id).updateProfile(
      { id: ada.user.id, firstName: "Renamed", lastName: "Renames", avatarUrl: null },
      Date.now(),
    );
    expect(await shown()).toEqual({ id: ada.user.id, ...DELETED });
    // A change reported after the deletion is not passed on either.
    await env.USER_INBOX.getByName(ada.user.id).profileChanged();
    await runDurableObjectAlarm(env.USER_INBOX.getByName(ada.user.id));
    expect(await shown()).toEqual({ id: ada.user.id, ...DELETED });
  });

  it("lets no profile change racing the deletion give the directory's row its name back", async () => {
    const ada = await registerUser("Ada", "Racing");
    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);
    // What a PATCH /api/me or a provider's claims that passed the token check just before do next.
    const db = openDb(env.DB);
    expect(await updateUser(db, ada.user.id, { firstName: "Back" })).toBeUndefined();
    expect(await updateUser(db, ada.user.id, { firstName: "Back", lastName: "Again" })).toBeUndefined();
    expect(await updateUser(db, ada.user.id, { avatarUrl: "https://example.com/me.png" })).toBeUndefined();
    const row = await findUserById(db, ada.user.id);
    expect(row).toMatchObject({ ...DELETED, email: null, deletedAt: expect.any(String) });
  });

  it("changes nothing for a wrong or missing password", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Keeps"), registerUser("Bob", "Keeps")]);
    const { conversation } = await startConversation(ada.token, [bob.user.id], { body: "still here" });
    const socket = await connect(`/api/conversations/${conversation.id}/ws`, ada.token);

    const wrong = await deleteMe(ada.token, { password: "not the password" });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("forbidden");
    const missing = await deleteMe(ada.token, {});
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toEqual([{ path: "password", message: expect.any(String) }]);

    expect((await api("GET", "/api/me", { token: ada.token })).body).toEqual(ada.user);
    expect((await history(conversation.id, bob.token)).map((m) => m.body)).toEqual(["still here"]);
    socket.send({ type: "send", body: "and talking", clientId: "k1" });
    expect((await socket.next(ofType("ack"))).message.body).toBe("and talking");
    socket.close();
  });

  it("deletes the push subscriptions, so nothing is pushed to the old browser", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Push"), registerUser("Bob", "Push")]);
    const vapid = (await api<{ key: string }>("GET", "/api/push/vapid-public-key", { token: ada.token })).body
      .key;
    const browser = await newPushClient(vapid);
    const subscribed = await api("POST", "/api/push/subscriptions", {
      token: ada.token,
      body: { endpoint: browser.endpoint, keys: browser.keys },
    });
    expect(subscribed.status).toBe(201);
    const { conversation } = await startConversation(bob.token, [ada.user.id]);
    expect(await env.USER_INBOX.getByName(ada.user.id).pushEndpoints()).toEqual([browser.endpoint]);

    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);

    expect(await env.USER_INBOX.getByName(ada.user.id).pushEndpoints()).toEqual([]);
    // Nor can the old token subscribe again.
    const again = await api("POST", "/api/push/subscriptions", {
      token: ada.token,
      body: { endpoint: browser.endpoint, keys: browser.keys },
    });
    expect(again.status).toBe(401);
    expect(await env.USER_INBOX.getByName(ada.user.id).pushEndpoints()).toEqual([]);
    await sendMessage(bob.token, conversation.id, "are you there?");
  });

  it("frees the email: it registers a new, empty account, and people search finds nobody of the old one", async () => {
    const [ada, bob] = await Promise.all([registerUser("Zelda", "Erased"), registerUser("Bob", "Looks")]);
    await startConversation(ada.token, [bob.user.id], { body: "hello" });
    expect((await deleteMe(ada.token, { password: ada.password })).status).toBe(204);

    const found = await api<{ users: User[] }>("GET", `/api/users?q=${encodeURIComponent(ada.user.email)}`, {
      token: bob.token,
    });
    expect(found.body.users).toEqual([]);
    for (const q of ["Zelda", "Deleted", ""]) {
      const byName = await api<{ users: User[] }>("GET", `/api/users?q=${q}&limit=50`, { token: bob.token });
      expect(byName.body.users.map((u) => u.id)).not.toContain(ada.user.id);
    }
    const again = await api<{ token: string; user: User }>("POST", "/api/auth/register", {
      body: { email: ada.user.email, password: "another password", firstName: "Zelda", lastName: "Again" },
    });
    expect(again.status).toBe(201);
    expect(again.body.user.id).not.toBe(ada.user.id);
    expect((await api("GET", "/api/conversations", { token: again.body.token })).body.conversations).toEqual(
      [],
    );
  });
});

describe("DELETE /api/me for an account without a password", () => {
  it("needs a recent sign-in, refuses the provider's earlier tokens after, and lets the host start over", async () => {
    const sub = newSub("idp|");
    const claims = { given_name: "Ext", family_name: "Ernal" };
    const now = Math.floor(Date.now() / 1000);
    const stale = await idpToken(key, sub, { ...claims, auth_time: now - 3600 });
    const me = await api("GET", "/api/me", { token: stale });
    expect(me.status).toBe(200);
    const bob = await registerUser("Bob", "Host");
    const { conversation } = await startConversation(stale, [bob.user.id], { body: "from the app" });

    const refused = await deleteMe(stale);
    expect(refused.status).toBe(403);
    expect((await history(conversation.id, bob.token)).map((m) => m.body)).toEqual(["from the app"]);

    const fresh = await idpToken(key, sub, claims);
    expect((await deleteMe(fresh)).status).toBe(204);
    for (const token of [stale, fresh]) expect((await api("GET", "/api/me", { token })).status).toBe(401);
    expect((await history(conversation.id, bob.token)).map((m) => m.body)).toEqual([""]);

    // The host application's backend may provision the person again: a new, empty account.
    const server = { authorization: "Bearer test-server-key-0123456789abcdefghijklmnop" };
    const put = await api<User>("PUT", `/api/server/users/${encodeURIComponent(sub)}`, {
      headers: server,
      body: { firstName: "Ext", lastName: "Again" },
    });
    expect(put.status).toBe(201);
    expect(put.body.id).not.toBe(me.body.id);
  });

  it("deletes a server API account with a token just minted for it", async () => {
    const server = { authorization: "Bearer test-server-key-0123456789abcdefghijklmnop" };
    const externalId = `host-${crypto.randomUUID()}`;
    const put = await api<User>("PUT", `/api/server/users/${externalId}`, {
      headers: server,
      body: { firstName: "Srv", lastName: "User" },
    });
    expect(put.status).toBe(201);
    const minted = await api<{ token: string }>("POST", `/api/server/users/${externalId}/tokens`, {
      headers: server,
    });
    const token = minted.body.token;
    const bob = await registerUser("Bob", "Host");
    const { conversation } = await startConversation(token, [bob.user.id], { body: "hi from the app" });
    expect((await deleteMe(token)).status).toBe(204);
    expect((await api("GET", "/api/me", { token })).status).toBe(401);
    // The host's backend cannot post as the deleted account either, though the direct
    // conversation still lists them.
    const posted = await api("POST", `/api/server/conversations/${conversation.id}/messages`, {
      headers: server,
      body: { body: "as a ghost", senderId: put.body.id },
    });
    expect(posted.status).toBe(422);
    expect((await history(conversation.id, bob.token)).map((m) => m.body)).toEqual([""]);
    // The id names no account now: no token for it until the host creates one again.
    expect((await api("POST", `/api/server/users/${externalId}/tokens`, { headers: server })).status).toBe(
      404,
    );
  });
});
