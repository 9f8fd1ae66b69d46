import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Conversation, User } from "../../src/protocol/models";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";

const wsPath = (id: string) => `/api/conversations/${id}/ws`;
/** Participant ids, sorted (people who joined together are listed by id). */
const ids = (c: Conversation) => c.participants.map((p: User) => p.id).sort();

async function d1Conversation(id: string) {
  return env.DB.prepare("SELECT title FROM conversations WHERE id = ?")
    .bind(id)
    .first<{ title: string | null }>();
}

async function d1LeftAt(conversationId: string, userId: string): Promise<string | null | undefined> {
  const row = await env.DB.prepare(
    "SELECT left_at FROM participants WHERE conversation_id = ? AND user_id = ?",
  )
    .bind(conversationId, userId)
    .first<{ left_at: string | null }>();
  return row?.left_at;
}

/** A group of three made by Ann, with a room socket and an inbox socket for each. */
async function group() {
  const a = await registerUser("Ann");
  const b = await registerUser("Bob");
  const c = await registerUser("Cat");
  const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "Trip" });
  const id = conversation.id;
  const [ra, rb, rc] = await Promise.all([a, b, c].map((u) => openSocket(wsPath(id), { token: u.token })));
  const [ia, ib, ic] = await Promise.all(
    [a, b, c].map((u) => openSocket("/api/inbox/ws", { token: u.token })),
  );
  const all = [ra, rb, rc, ia, ib, ic];
  await Promise.all(all.map((s) => s?.next(ofType("ready"))));
  return {
    a,
    b,
    c,
    id,
    rooms: [ra!, rb!, rc!],
    inboxes: [ia!, ib!, ic!],
    close: () => all.forEach((s) => s?.close()),
  };
}

describe("managing a group", () => {
  it("renames a group for any participant: the room's sockets, every inbox and D1 learn the title", async () => {
    const { a, b, id, rooms, inboxes, close } = await group();
    const res = await api("PATCH", `/api/conversations/${id}`, {
      token: b.token,
      body: { title: "Trip to Rome" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, title: "Trip to Rome", kind: "group" });
    for (const room of rooms) {
      expect(await room.next(ofType("conversation.updated"))).toEqual({
        type: "conversation.updated",
        conversationId: id,
        title: "Trip to Rome",
        userId: b.user.id,
      });
    }
    for (const inbox of inboxes) {
      const e = await inbox.next(
        (x) => x.type === "conversation.updated" && x.conversation.title === "Trip to Rome",
      );
      expect(e.conversation.id).toBe(id);
    }
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).body.title).toBe(
      "Trip to Rome",
    );
    await expect.poll(() => d1Conversation(id)).toEqual({ title: "Trip to Rome" });
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations.find((x: Conversation) => x.id === id)?.title).toBe("Trip to Rome");
    // null clears it: the group is named by its people again.
    expect(
      (await api("PATCH", `/api/conversations/${id}`, { token: a.token, body: { title: null } })).body.title,
    ).toBeNull();
    close();
  });

  it("refuses to rename a direct conversation or to a bad title, changing nothing", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const direct = await api("PATCH", `/api/conversations/${conversation.id}`, {
      token: a.token,
      body: { title: "Us" },
    });
    expect(direct.status).toBe(422);
    expect(
      (await api("GET", `/api/conversations/${conversation.id}`, { token: a.token })).body.title,
    ).toBeNull();
    const g = (await startConversation(a.token, [b.user.id], { title: "G" })).conversation;
    for (const body of [
      { title: "   " },
      { title: "x".repeat(201) },
      { title: "a\u202eb" },
      {},
      { title: "ok", extra: 1 },
    ]) {
      expect((await api("PATCH", `/api/conversations/${g.id}`, { token: a.token, body })).status).toBe(422);
    }
    const eve = await registerUser("Eve");
    expect(
      (await api("PATCH", `/api/conversations/${g.id}`, { token: eve.token, body: { title: "mine" } }))
        .status,
    ).toBe(404);
    expect((await api("GET", `/api/conversations/${g.id}`, { token: a.token })).body.title).toBe("G");
  });

  it("lets the creator remove a participant: their sockets close 4403, their inbox drops it, the others hear it", async () => {
    const { a, b, c, id, rooms, inboxes, close } = await group();
    const [ra, rb, rc] = rooms;
    const [ia, ib, ic] = inboxes;
    expect(
      (await api("DELETE", `/api/conversations/${id}/participants/${c.user.id}`, { token: a.token })).status,
    ).toBe(204);
    expect((await rc!.closed).code).toBe(4403);
    expect(await ic!.next(ofType("conversation.removed"))).toEqual({
      type: "conversation.removed",
      conversationId: id,
    });
    for (const room of [ra!, rb!]) {
      expect(await room.next(ofType("participant.removed"))).toEqual({
        type: "participant.removed",
        userId: c.user.id,
        by: a.user.id,
      });
    }
    for (const inbox of [ia!, ib!]) {
      const e = await inbox.next(
        (x) => x.type === "conversation.updated" && x.conversation.participants.length === 2,
      );
      expect(ids(e.conversation)).not.toContain(c.user.id);
    }
    // Access is gone at once: REST, a new socket, sending.
    expect((await api("GET", `/api/conversations/${id}`, { token: c.token })).status).toBe(404);
    expect(
      (await api("POST", `/api/conversations/${id}/messages`, { token: c.token, body: { body: "hi?" } }))
        .status,
    ).toBe(404);
    await expect(openSocket(wsPath(id), { token: c.token })).rejects.toMatchObject({ status: 404 });
    expect(ids((await api("GET", `/api/conversations/${id}`, { token: b.token })).body)).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    await expect.poll(() => d1LeftAt(id, c.user.id)).toEqual(expect.any(String));
    close();
  });

  it("lets anyone leave by removing themselves, and refuses everything else with a clear error", async () => {
    const { a, b, c, id, rooms, close } = await group();
    // A non-creator removing someone else: 403, and nobody leaves.
    const refused = await api("DELETE", `/api/conversations/${id}/participants/${c.user.id}`, {
      token: b.token,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("forbidden");
    expect((await api("GET", `/api/conversations/${id}`, { token: c.token })).status).toBe(200);
    expect(
      (await api("DELETE", `/api/conversations/${id}/participants/u_nobody`, { token: a.token })).status,
    ).toBe(404);
    // Leaving.
    expect(
      (await api("DELETE", `/api/conversations/${id}/participants/${b.user.id}`, { token: b.token })).status,
    ).toBe(204);
    expect((await rooms[1]!.closed).code).toBe(4403);
    expect(await rooms[0]!.next(ofType("participant.removed"))).toMatchObject({
      userId: b.user.id,
      by: b.user.id,
    });
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).body.participants).toHaveLength(
      2,
    );
    // Someone who left is not a participant any more: removing them again is a 404 for them.
    expect(
      (await api("DELETE", `/api/conversations/${id}/participants/${b.user.id}`, { token: b.token })).status,
    ).toBe(404);
    // Direct conversations have no participants to remove.
    const direct = (await startConversation(a.token, [b.user.id])).conversation;
    expect(
      (await api("DELETE", `/api/conversations/${direct.id}/participants/${b.user.id}`, { token: a.token }))
        .status,
    ).toBe(422);
    expect((await api("GET", `/api/conversations/${direct.id}`, { token: b.token })).status).toBe(200);
    close();
  });

  it("keeps a rename and a removal across evictions", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const c = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "Before" });
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await evictDurableObject(room);
    await api("PATCH", `/api/conversations/${conversation.id}`, { token: c.token, body: { title: "After" } });
    await evictDurableObject(room);
    await api("DELETE", `/api/conversations/${conversation.id}/participants/${c.user.id}`, {
      token: a.token,
    });
    await evictDurableObject(room);
    const view = (await api("GET", `/api/conversations/${conversation.id}`, { token: b.token })).body;
    expect(view).toMatchObject({ title: "After" });
    expect(ids(view)).toEqual([a.user.id, b.user.id].sort());
    expect((await api("GET", `/api/conversations/${conversation.id}`, { token: c.token })).status).toBe(404);
    await sendMessage(b.token, conversation.id, "still here");
  });
});
