import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { openDb } from "../../src/db/client";
import { shardAccess } from "../../src/db/shards";
import { newId } from "../../src/ids";
import type { InboxPage } from "../../src/protocol/responses";
import { type TestUser, api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { listInbox, withoutReads } from "../helpers/d1-listing";
import { fakeNotice, hideDirectory, inboxPage, inboxWhen, refuseInboxWrites } from "../helpers/inbox";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * The inbox listing (`GET /api/conversations`) is read from the user's UserInbox object, which the
 * rooms' notices keep current; D1 is not on its path. These tests reach the object through the API,
 * through `apply` (what rooms call) and through its storage's public API for faults.
 */

const inboxOf = (user: TestUser) => env.USER_INBOX.getByName(user.user.id);
const ids = (page: InboxPage) => page.conversations.map((c) => c.id);

/** Every page of a user's inbox at `limit` per page, as the API gives them. */
async function allPages(token: string, limit: number): Promise<InboxPage[]> {
  const pages: InboxPage[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await inboxPage(token, query);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

/** The same pages from D1, as the Worker listed them before the inbox moved into the object. */
async function d1Pages(userId: string, limit: number): Promise<InboxPage[]> {
  const pages: InboxPage[] = [];
  let cursor: [string, string] | null = null;
  for (;;) {
    const page = await listInbox(openDb(env.DB), shardAccess(env), userId, limit, cursor);
    pages.push(page);
    if (!page.nextCursor) return pages;
    cursor = JSON.parse(atob(page.nextCursor)) as [string, string];
  }
}

/** A conversation as the Worker created it before rooms owned membership: rows in D1 only. */
async function legacyGroup(creator: string, members: string[]): Promise<string> {
  const id = newId("c");
  const at = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO conversations (id, kind, title, direct_key, created_by, created_at, updated_at, last_seq) VALUES (?, 'group', 'from before', NULL, ?, ?, ?, 0)",
    ).bind(id, creator, at, at),
    ...members.map((userId) =>
      env.DB.prepare(
        "INSERT INTO participants (conversation_id, user_id, last_read_seq, joined_at) VALUES (?, ?, 0, ?)",
      ).bind(id, userId, at),
    ),
  ]);
  return id;
}

describe("the inbox listing in the user's object", () => {
  it("answers from the user's object with D1's directory out of reach", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id], { body: "hello" });
    await sendMessage(a.token, conversation.id, "still there?");
    const before = await inboxPage(a.token);
    const restore = await hideDirectory();
    try {
      await expect(env.DB.prepare("SELECT count(*) FROM participants").all()).rejects.toThrow();
      const res = await api<InboxPage>("GET", "/api/conversations", { token: a.token });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.body).toEqual(before);
      expect(res.body.conversations[0]).toMatchObject({
        id: conversation.id,
        lastSeq: 2,
        unreadCount: 0,
        lastMessage: { body: "still there?" },
      });
    } finally {
      await restore();
    }
  });

  it("pages with its cursor, gives the pages D1's listing gave, and keeps them across an eviction", async () => {
    const me = await registerUser("Meg");
    const others = await Promise.all([1, 2, 3, 4, 5].map((i) => registerUser(`Peer${i}`)));
    for (const [i, o] of others.entries()) {
      const { conversation } = await startConversation(o.token, [me.user.id], { body: `hi ${i}` });
      if (i % 2 === 0) await sendMessage(me.token, conversation.id, `reply ${i}`);
    }
    await inboxWhen(me.token, (page) => page.conversations.length === 5);
    const pages = await allPages(me.token, 2);
    expect(pages.map((p) => p.conversations.length)).toEqual([2, 2, 1]);
    expect(await d1Pages(me.user.id, 2)).toEqual(pages.map(withoutReads));
    await evictDurableObject(inboxOf(me));
    expect(await allPages(me.token, 2)).toEqual(pages);
    expect((await api("GET", "/api/conversations?cursor=garbage", { token: me.token })).status).toBe(422);
  });

  it("lists the first INBOX_PARTICIPANTS people of a conversation and counts them all", async () => {
    const shown = limitsFrom(env).inboxParticipants;
    const owner = await registerUser("Owner");
    const people = await Promise.all(Array.from({ length: shown + 2 }, (_, i) => registerUser(`P${i}`)));
    const ib = await openSocket("/api/inbox/ws", { token: people[0]!.token });
    await ib.next(ofType("ready"));
    const { conversation } = await startConversation(
      owner.token,
      people.map((p) => p.user.id),
      { title: "crowd", body: "welcome" },
    );
    const [listed] = (await inboxPage(owner.token)).conversations;
    expect(listed?.participantCount).toBe(shown + 3);
    expect(listed?.participants).toHaveLength(shown);
    const event = await ib.next(ofType("conversation.created"));
    expect(event.conversation).toMatchObject({ id: conversation.id, participantCount: shown + 3 });
    expect(event.conversation.participants).toHaveLength(shown);
    const full = await api("GET", `/api/conversations/${conversation.id}`, { token: owner.token });
    expect(full.body.participants).toHaveLength(shown + 3);
    expect(full.body.participantCount).toBe(shown + 3);
    ib.close();
  });
});

describe("notices an inbox keeps", () => {
  it("never goes backwards and never shows a left conversation, whatever order notices arrive in", async () => {
    const u = await registerUser();
    const stub = inboxOf(u);
    await inboxPage(u.token); // filled (empty) from the directory once
    const ib = await openSocket("/api/inbox/ws", { token: u.token });
    await ib.next(ofType("ready"));
    const id = newId("c");
    const listed = async () => (await inboxPage(u.token)).conversations.find((c) => c.id === id) ?? null;

    await stub.apply([fakeNotice(id, 2, "visible", { lastSeq: 2, lastReadSeq: 1 })]);
    await stub.apply([fakeNotice(id, 1, "visible", { lastSeq: 1 })]); // built earlier, arrived later
    expect(await listed()).toMatchObject({ lastSeq: 2, lastReadSeq: 1, unreadCount: 1 });

    await stub.apply([fakeNotice(id, 4, "left")]);
    await stub.apply([fakeNotice(id, 3, "visible", { lastSeq: 3 })]); // activity from before the leave
    expect(await listed()).toBeNull();

    await stub.apply([fakeNotice(id, 5, "visible", { lastSeq: 4 })]); // added again
    expect(await listed()).toMatchObject({ lastSeq: 4 });
    await stub.apply([fakeNotice(id, 6, "hidden", { lastSeq: 4 })]);
    expect(await listed()).toBeNull();
    await stub.apply([fakeNotice(id, 6, "visible", { lastSeq: 4 })]); // the same version again
    expect(await listed()).toBeNull();
    await stub.apply([fakeNotice(id, 7, "visible", { lastSeq: 5 })]); // the next message
    expect(await listed()).toMatchObject({ lastSeq: 5 });

    // The sockets heard each change once, and nothing of the notices that were too old.
    const heard = ib.events
      .filter((e) => e.type !== "ready")
      .map((e) => (e.type === "conversation.removed" ? "removed" : `${e.type}:${e.conversation.lastSeq}`));
    expect(heard).toEqual([
      "conversation.updated:2",
      "removed",
      "conversation.updated:4",
      "removed",
      "conversation.updated:5",
    ]);
    ib.close();
  });

  it("catches up after it was unavailable when the room told it: the room keeps the notice and retries", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const { conversation } = await startConversation(a.token, [b.user.id], { title: "retry" });
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await inboxWhen(b.token, (page) => ids(page).includes(conversation.id));
    const allow = await refuseInboxWrites(b.user.id);
    try {
      await sendMessage(a.token, conversation.id, "while you were out");
      await runDurableObjectAlarm(room); // the room's notice: refused by B's inbox, kept
      expect((await inboxPage(b.token)).conversations[0]).toMatchObject({ lastSeq: 0 });
    } finally {
      await allow();
    }
    await until("B's inbox to catch up", async () => {
      await runDurableObjectAlarm(room);
      return (await inboxPage(b.token)).conversations[0]?.lastSeq === 1;
    });
    expect((await inboxPage(b.token)).conversations[0]).toMatchObject({
      id: conversation.id,
      unreadCount: 1,
      lastMessage: { body: "while you were out" },
    });
  });

  it("never shows a conversation the user left, even when older activity is retried after the leave", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cy");
    const { conversation } = await startConversation(a.token, [b.user.id, c.user.id], { title: "going" });
    const room = env.CONVERSATION_ROOM.getByName(conversation.id);
    await inboxWhen(c.token, (page) => ids(page).includes(conversation.id));
    const allow = await refuseInboxWrites(c.user.id);
    await sendMessage(a.token, conversation.id, "news for everyone");
    await runDurableObjectAlarm(room);
    await allow();
    // C leaves: the leave's notice is newer than the activity C's inbox missed.
    expect((await api("DELETE", `/api/conversations/${conversation.id}`, { token: c.token })).status).toBe(
      204,
    );
    expect(ids(await inboxPage(c.token))).not.toContain(conversation.id);
    // The room's notices go on: whatever C's inbox hears now (the retry of what it missed, the
    // next activity) is newer than the leave and says C left.
    await sendMessage(a.token, conversation.id, "after C left");
    await inboxWhen(b.token, (page) => page.conversations[0]?.lastSeq === 2);
    await runDurableObjectAlarm(room);
    expect(ids(await inboxPage(c.token))).not.toContain(conversation.id);
  });
});

describe("an inbox from before rows (an existing deployment)", () => {
  it("fills itself once from the directory and each room's view, then no longer needs D1", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const c = await registerUser("Cy");
    const direct = (await startConversation(a.token, [b.user.id], { body: "one" })).conversation;
    await sendMessage(b.token, direct.id, "two");
    await api("POST", `/api/conversations/${direct.id}/read`, { token: a.token, body: { seq: 1 } });
    const group = (await startConversation(b.token, [a.user.id, c.user.id], { title: "g", body: "hey" }))
      .conversation;
    const left = (await startConversation(c.token, [a.user.id, b.user.id], { title: "left" })).conversation;
    await api("DELETE", `/api/conversations/${left.id}`, { token: a.token });
    const hidden = (await startConversation(c.token, [a.user.id], { body: "psst" })).conversation;
    await api("DELETE", `/api/conversations/${hidden.id}`, { token: a.token });
    const legacy = await legacyGroup(b.user.id, [a.user.id, b.user.id]);
    // Every notice of the above delivered (none still on its way to the object wiped below).
    await inboxWhen(a.token, (page) => ids(page).length === 3);

    // A's inbox object as an earlier version left it: nothing in its storage.
    const stub = inboxOf(a);
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAll());
    await evictDurableObject(stub);

    const pages = await allPages(a.token, 2);
    const listed = pages.flatMap(ids);
    expect(listed.sort()).toEqual([direct.id, group.id, legacy].sort());
    expect(await d1Pages(a.user.id, 2)).toEqual(pages.map(withoutReads));
    expect(pages.flatMap((p) => p.conversations).find((x) => x.id === direct.id)).toMatchObject({
      lastSeq: 2,
      lastReadSeq: 1,
      unreadCount: 1,
    });
    // Filled once: the directory is not asked again.
    const restore = await hideDirectory();
    try {
      expect(await allPages(a.token, 2)).toEqual(pages);
    } finally {
      await restore();
    }
  });

  it("finishes a fill that was interrupted, without duplicates", async () => {
    const a = await registerUser("Ann");
    const b = await registerUser("Bob");
    const fresh = (await startConversation(b.token, [a.user.id], { title: "new", body: "hi" })).conversation;
    await inboxWhen(a.token, (page) => ids(page).includes(fresh.id));
    const legacy = await legacyGroup(b.user.id, [a.user.id, b.user.id]);
    const stub = inboxOf(a);
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAll());
    await evictDurableObject(stub);
    // The room of the conversation from before loads it from D1, which fails now: the fill stops.
    const restore = await hideDirectory(["conversations"]);
    let failed: number;
    try {
      failed = (await api("GET", "/api/conversations", { token: a.token })).status;
    } finally {
      await restore();
    }
    expect(failed).toBe(500);
    const page = await inboxPage(a.token);
    expect(ids(page).sort()).toEqual([fresh.id, legacy].sort());
    expect(withoutReads(page)).toEqual((await d1Pages(a.user.id, 20))[0]);
  });
});
