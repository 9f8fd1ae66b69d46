import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import type { Conversation, Message } from "../../src/protocol/models";

describe("starting conversations", () => {
  it("creates the direct conversation of a pair once, then returns it", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const first = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id] },
    });
    expect(first.status).toBe(201);
    expect(first.body.conversation).toMatchObject({
      kind: "direct",
      title: null,
      lastSeq: 0,
      lastMessage: null,
      unreadCount: 0,
    });
    expect(first.body.conversation.participants.map((u: { id: string }) => u.id).sort()).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    const again = await api("POST", "/api/conversations", {
      token: b.token,
      body: { participantIds: [a.user.id] },
    });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(first.body.conversation.id);
  });

  it("ends two simultaneous first requests with one direct conversation", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const results = await Promise.all([
      api("POST", "/api/conversations", { token: a.token, body: { participantIds: [b.user.id] } }),
      api("POST", "/api/conversations", { token: b.token, body: { participantIds: [a.user.id] } }),
      api("POST", "/api/conversations", {
        token: a.token,
        body: { participantIds: [b.user.id], body: "hi" },
      }),
    ]);
    const ids = new Set(results.map((r) => r.body.conversation.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations).toHaveLength(1);
  });

  it("creates a group with a title and an optional first message", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const res = await api("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "Engines", body: "  first!  ", clientId: "c-1" },
    });
    expect(res.status).toBe(201);
    expect(res.body.conversation).toMatchObject({ kind: "group", title: "Engines", lastSeq: 1 });
    expect(res.body.conversation.participants).toHaveLength(3);
    expect(res.body.message).toMatchObject({
      seq: 1,
      body: "first!",
      clientId: "c-1",
      sender: { id: a.user.id },
    });
  });

  it("answers clear 422s for bad participant lists and bodies", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const cases: unknown[] = [
      {},
      { participantIds: [] },
      { participantIds: [a.user.id] },
      { participantIds: ["u_doesnotexist"] },
      { participantIds: [b.user.id], body: "   " },
      { participantIds: [b.user.id], body: "x".repeat(4001) },
      { participantIds: "nope" },
    ];
    for (const body of cases) {
      const res = await api("POST", "/api/conversations", { token: a.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details.length).toBeGreaterThan(0);
    }
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations).toHaveLength(0);
  });
});

describe("messages", () => {
  it("sends, reads history with sender profiles, edits and deletes", async () => {
    const a = await registerUser("Ann", "Author");
    const b = await registerUser("Bea", "Reader");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const m1 = await sendMessage(a.token, conversation.id, "hello");
    const m2 = await sendMessage(b.token, conversation.id, "hi back");
    expect([m1.seq, m2.seq]).toEqual([1, 2]);

    const history = await api("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token });
    expect(history.status).toBe(200);
    expect(history.body.hasMore).toBe(false);
    expect(history.body.messages.map((m: Message) => [m.seq, m.body, m.sender.firstName])).toEqual([
      [1, "hello", "Ann"],
      [2, "hi back", "Bea"],
    ]);

    const edited = await api("PATCH", `/api/conversations/${conversation.id}/messages/${m1.id}`, {
      token: a.token,
      body: { body: "hello there" },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.message.body).toBe("hello there");
    expect(edited.body.message.editedAt).not.toBeNull();
    const forbidden = await api("PATCH", `/api/conversations/${conversation.id}/messages/${m1.id}`, {
      token: b.token,
      body: { body: "mine now" },
    });
    expect(forbidden.status).toBe(403);
    expect(
      (await api("DELETE", `/api/conversations/${conversation.id}/messages/${m1.id}`, { token: b.token }))
        .status,
    ).toBe(403);

    expect(
      (await api("DELETE", `/api/conversations/${conversation.id}/messages/${m1.id}`, { token: a.token }))
        .status,
    ).toBe(204);
    const after = await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token });
    expect(after.body.messages[0]).toMatchObject({ seq: 1, body: "", deletedAt: expect.any(String) });
    expect(after.body.messages.map((m: Message) => m.seq)).toEqual([1, 2]);
    const missing = await api("PATCH", `/api/conversations/${conversation.id}/messages/m_nope`, {
      token: a.token,
      body: { body: "x" },
    });
    expect(missing.status).toBe(404);
  });

  it("pages history with before/after and a limit", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    for (let i = 1; i <= 7; i++) await sendMessage(a.token, conversation.id, `m${i}`);
    const latest = await api("GET", `/api/conversations/${conversation.id}/messages?limit=3`, {
      token: a.token,
    });
    expect(latest.body.messages.map((m: Message) => m.seq)).toEqual([5, 6, 7]);
    expect(latest.body.hasMore).toBe(true);
    const older = await api("GET", `/api/conversations/${conversation.id}/messages?limit=3&before=5`, {
      token: a.token,
    });
    expect(older.body.messages.map((m: Message) => m.seq)).toEqual([2, 3, 4]);
    expect(older.body.hasMore).toBe(true);
    const oldest = await api("GET", `/api/conversations/${conversation.id}/messages?limit=3&before=2`, {
      token: a.token,
    });
    expect(oldest.body).toMatchObject({ hasMore: false });
    expect(oldest.body.messages.map((m: Message) => m.seq)).toEqual([1]);
    const after = await api("GET", `/api/conversations/${conversation.id}/messages?after=5&limit=10`, {
      token: a.token,
    });
    expect(after.body.messages.map((m: Message) => m.seq)).toEqual([6, 7]);
    expect(after.body.hasMore).toBe(false);
    const bad = await api("GET", `/api/conversations/${conversation.id}/messages?limit=500`, {
      token: a.token,
    });
    expect(bad.status).toBe(422);
  });

  it("returns the original message when a clientId is replayed, never a duplicate", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const path = `/api/conversations/${conversation.id}/messages`;
    const first = await api("POST", path, { token: a.token, body: { body: "once", clientId: "k-1" } });
    const replay = await api("POST", path, { token: a.token, body: { body: "once", clientId: "k-1" } });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(200);
    expect(replay.body.message).toEqual(first.body.message);
    // The same clientId from another sender is another message.
    const other = await api("POST", path, { token: b.token, body: { body: "mine", clientId: "k-1" } });
    expect(other.status).toBe(201);
    const history = await api("GET", path, { token: a.token });
    expect(history.body.messages.map((m: Message) => m.body)).toEqual(["once", "mine"]);
  });

  it("numbers concurrent sends from several users with no gaps", async () => {
    const users = await Promise.all([registerUser(), registerUser(), registerUser(), registerUser()]);
    const [owner, ...rest] = users;
    const { conversation } = await startConversation(
      owner!.token,
      rest.map((u) => u.user.id),
      { title: "race" },
    );
    const sends = users.flatMap((u, i) =>
      Array.from({ length: 10 }, (_, j) => sendMessage(u.token, conversation.id, `u${i}-${j}`)),
    );
    const sent = await Promise.all(sends);
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const history = await api("GET", `/api/conversations/${conversation.id}/messages?limit=100`, {
      token: owner!.token,
    });
    expect(history.body.messages.map((m: Message) => m.seq)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    // Each user's own messages keep the order they were acknowledged in.
    for (let i = 0; i < users.length; i++) {
      const mine = history.body.messages.filter((m: Message) => m.body.startsWith(`u${i}-`));
      expect(mine).toHaveLength(10);
    }
  });
});

describe("inbox, read state and leaving", () => {
  it("moves unread counts with sends and reads, never backwards", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    await sendMessage(a.token, conversation.id, "one");
    await sendMessage(a.token, conversation.id, "two");
    await sendMessage(a.token, conversation.id, "three");
    const inboxOf = async (token: string) =>
      (await api<{ conversations: Conversation[] }>("GET", "/api/conversations", { token })).body
        .conversations[0]!;
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
    const convs = [];
    for (const o of others) convs.push((await startConversation(me.token, [o.user.id])).conversation);
    await sendMessage(others[0]!.token, convs[0]!.id, "newest");
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
    expect((await api("GET", "/api/conversations", { token: b.token })).body.conversations).toHaveLength(1);
    // Still a participant: the whole history stays readable.
    expect(
      (await api("GET", `/api/conversations/${conversation.id}/messages`, { token: a.token })).body.messages,
    ).toHaveLength(1);
    await sendMessage(b.token, conversation.id, "are you there?");
    const back = await api("GET", "/api/conversations", { token: a.token });
    expect(back.body.conversations.map((c: Conversation) => c.id)).toEqual([conversation.id]);
    expect(back.body.conversations[0].unreadCount).toBe(1);
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

describe("privacy", () => {
  it("answers 404 to a non-participant on every route and changes nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const eve = await registerUser("Eve");
    const { conversation, message } = await startConversation(a.token, [b.user.id], { body: "secret" });
    const id = conversation.id;
    const mid = message!.id;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/api/conversations/${id}`],
      ["DELETE", `/api/conversations/${id}`],
      ["POST", `/api/conversations/${id}/participants`, { userIds: [eve.user.id] }],
      ["GET", `/api/conversations/${id}/messages`],
      ["POST", `/api/conversations/${id}/messages`, { body: "let me in" }],
      ["PATCH", `/api/conversations/${id}/messages/${mid}`, { body: "edited by eve" }],
      ["DELETE", `/api/conversations/${id}/messages/${mid}`],
      ["POST", `/api/conversations/${id}/read`, { seq: 1 }],
    ];
    const unknownId = "c_00000000000000000000";
    for (const [method, path, body] of attempts) {
      const res = await api(method, path, { token: eve.token, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      const missing = await api(method, path.replace(id, unknownId), { token: eve.token, body });
      // A conversation Eve is not in looks exactly like one that does not exist.
      expect(missing.body, `${method} ${path}`).toEqual(res.body);
    }
    const history = await api("GET", `/api/conversations/${id}/messages`, { token: a.token });
    expect(history.body.messages).toHaveLength(1);
    expect(history.body.messages[0]).toMatchObject({ body: "secret", editedAt: null, deletedAt: null });
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).body.participants).toHaveLength(
      2,
    );
  });
});
