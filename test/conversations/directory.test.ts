import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { directConversationId, directKeyOf, newId } from "../../src/ids";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { d1MessageCount } from "../helpers/d1";

/**
 * The room owns its conversation's membership; D1's directory (conversations, participants) is a
 * copy the room writes through its outbox. Conversations created before that, by the Worker in
 * D1, are loaded by their room once.
 */

const now = () => new Date().toISOString();

/** A conversation as the Worker used to create it: rows in D1 only, nothing in its room yet. */
async function legacyConversation(
  kind: "direct" | "group",
  creator: string,
  members: string[],
  options: { withParticipants?: boolean } = {},
): Promise<string> {
  const id = newId("c");
  const at = now();
  const [a, b] = members;
  const directKey = kind === "direct" && a && b ? directKeyOf(a, b) : null;
  await env.DB.prepare(
    "INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
  )
    .bind(id, kind, kind === "group" ? "from before" : null, directKey, creator, at, at)
    .run();
  if (options.withParticipants !== false) await addLegacyParticipants(id, members);
  return id;
}

async function addLegacyParticipants(id: string, members: string[]): Promise<void> {
  await env.DB.batch(
    members.map((userId) =>
      env.DB.prepare(
        "INSERT INTO participants (conversation_id, user_id, last_read_seq, joined_at) VALUES (?, ?, 0, ?)",
      ).bind(id, userId, now()),
    ),
  );
}

describe("the directory in D1", () => {
  it("gets a new conversation and its participants from the room before the creation is answered", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "copied" });
    const row = await env.DB.prepare("SELECT kind, title, created_by FROM conversations WHERE id = ?")
      .bind(conversation.id)
      .first();
    expect(row).toEqual({ kind: "group", title: "copied", created_by: a.user.id });
    const people = await env.DB.prepare(
      "SELECT user_id FROM participants WHERE conversation_id = ? AND left_at IS NULL ORDER BY user_id",
    )
      .bind(conversation.id)
      .all<{ user_id: string }>();
    expect(people.results.map((p) => p.user_id)).toEqual([a.user.id, b.user.id].sort());
  });

  it("names a pair's direct conversation after the pair, whoever starts it", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const first = await startConversation(b.token, [a.user.id]);
    expect(first.conversation.id).toBe(await directConversationId(a.user.id, b.user.id));
    expect(first.conversation.id).toMatch(/^c_[0-9a-z]{20}$/);
    const row = await env.DB.prepare("SELECT direct_key FROM conversations WHERE id = ?")
      .bind(first.conversation.id)
      .first<{ direct_key: string }>();
    expect(row?.direct_key).toBe(directKeyOf(a.user.id, b.user.id));
  });
});

describe("conversations from before rooms owned membership", () => {
  it("are loaded by their room from D1 once, then served and copied like any other", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const id = await legacyConversation("group", a.user.id, [a.user.id, b.user.id]);
    const view = await api("GET", `/api/conversations/${id}`, { token: b.token });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id, kind: "group", title: "from before", lastSeq: 0 });
    expect(view.body.participants.map((u: { id: string }) => u.id).sort()).toEqual(
      [a.user.id, b.user.id].sort(),
    );
    await sendMessage(b.token, id, "still works");
    expect(await d1MessageCount(id, 1)).toBe(1);
    // The room owns the membership now: D1's rows are its copy, no longer read.
    await env.DB.prepare("UPDATE participants SET left_at = ? WHERE conversation_id = ? AND user_id = ?")
      .bind(now(), id, b.user.id)
      .run();
    expect((await api("GET", `/api/conversations/${id}`, { token: b.token })).status).toBe(200);
  });

  it("are not frozen without their participants: 404 until D1 has them, then loaded", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const id = await legacyConversation("group", a.user.id, [a.user.id, b.user.id], {
      withParticipants: false,
    });
    expect((await api("GET", `/api/conversations/${id}`, { token: a.token })).status).toBe(404);
    await addLegacyParticipants(id, [a.user.id, b.user.id]);
    const view = await api("GET", `/api/conversations/${id}`, { token: a.token });
    expect(view.status).toBe(200);
    expect(view.body.participants).toHaveLength(2);
  });

  it("keep a pair's direct conversation: starting it again finds the one from before", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const id = await legacyConversation("direct", a.user.id, [a.user.id, b.user.id]);
    const again = await api("POST", "/api/conversations", {
      token: b.token,
      body: { participantIds: [a.user.id], body: "hello again" },
    });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(id);
    expect(again.body.message).toMatchObject({ seq: 1, body: "hello again" });
    const inbox = await api("GET", "/api/conversations", { token: a.token });
    expect(inbox.body.conversations.map((c: { id: string }) => c.id)).toEqual([id]);
  });
});
