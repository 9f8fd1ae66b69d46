import { describe, expect, it } from "vitest";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import type { Message } from "../../src/protocol/models";

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
    expect(history.body.messages.map((m: Message) => [m.seq, m.body, m.sender?.firstName])).toEqual([
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
