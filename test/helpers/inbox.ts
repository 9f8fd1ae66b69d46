import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { InboxNotice } from "../../src/durable/inbox/notice";
import type { Conversation } from "../../src/protocol/models";
import type { InboxPage } from "../../src/protocol/responses";
import { api } from "./api";
import { until } from "./wait";

/** One page of the caller's inbox (`GET /api/conversations`), checked to answer 200. */
export async function inboxPage(token: string, query = ""): Promise<InboxPage> {
  const res = await api<InboxPage>("GET", `/api/conversations${query}`, { token });
  if (res.status !== 200) throw new Error(`inbox failed: ${res.status} ${res.text}`);
  return res.body;
}

/**
 * The caller's inbox once `check` holds. A user's own REST writes are in their inbox when the call
 * answers; someone else's reach it with the room's next coalesced notice (INBOX_NOTIFY_WINDOW_MS),
 * so a test that looks at another member's inbox waits for it (a bound, not a measurement).
 */
export async function inboxWhen(
  token: string,
  check: (page: InboxPage) => boolean,
  query = "",
): Promise<InboxPage> {
  let page = await inboxPage(token, query);
  await until("the inbox to show it", async () => {
    if (check(page)) return true;
    page = await inboxPage(token, query);
    return check(page);
  });
  return page;
}

/**
 * A real fault in one user's inbox object: triggers in its own SQLite that refuse every write of an
 * inbox row, so every notice a room sends it fails inside the object (the listing still reads).
 * Returns the undo.
 */
export async function refuseInboxWrites(userId: string): Promise<() => Promise<void>> {
  const stub = env.USER_INBOX.getByName(userId);
  await runInDurableObject(stub, (_instance, state) => {
    for (const op of ["INSERT", "UPDATE"]) {
      state.storage.sql.exec(
        `CREATE TRIGGER refuse_${op.toLowerCase()} BEFORE ${op} ON conversations
         BEGIN SELECT RAISE(FAIL, 'injected'); END`,
      );
    }
  });
  return async () => {
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("DROP TRIGGER IF EXISTS refuse_insert");
      state.storage.sql.exec("DROP TRIGGER IF EXISTS refuse_update");
    });
  };
}

/**
 * D1's directory out of reach: its tables (every table but D1's own) renamed, so any query of them
 * fails; or only the tables named. Returns the undo. Own tokens need no D1, so requests still
 * authenticate.
 */
export async function hideDirectory(only?: readonly string[]): Promise<() => Promise<void>> {
  const tables =
    only ??
    (
      await env.DB.prepare(
        // Not a virtual table's shadow tables (the search index's): renaming the table renames them.
        `SELECT name FROM sqlite_master AS t WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
           AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'd1\\_%' ESCAPE '\\'
           AND NOT EXISTS (SELECT 1 FROM sqlite_master AS v WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%'
             AND t.name LIKE v.name || '\\_%' ESCAPE '\\')`,
      ).all<{ name: string }>()
    ).results.map((r) => r.name);
  await env.DB.batch(tables.map((t) => env.DB.prepare(`ALTER TABLE "${t}" RENAME TO "${t}_hidden"`)));
  return async () => {
    await env.DB.batch(tables.map((t) => env.DB.prepare(`ALTER TABLE "${t}_hidden" RENAME TO "${t}"`)));
  };
}

/** A notice as a room would build it, for a conversation that exists only in this notice. */
export function fakeNotice(
  conversationId: string,
  version: number,
  state: "visible" | "hidden",
  fields: { lastSeq: number; lastReadSeq?: number; updatedAt?: string },
): InboxNotice;
export function fakeNotice(conversationId: string, version: number, state: "left"): InboxNotice;
export function fakeNotice(
  conversationId: string,
  version: number,
  state: "visible" | "hidden" | "left",
  fields: { lastSeq: number; lastReadSeq?: number; updatedAt?: string } = { lastSeq: 0 },
): InboxNotice {
  if (state === "left") return { conversationId, version, state };
  const updatedAt = fields.updatedAt ?? new Date(Date.UTC(2026, 0, 1, 0, 0, fields.lastSeq)).toISOString();
  const lastReadSeq = fields.lastReadSeq ?? 0;
  const conversation: Conversation = {
    id: conversationId,
    kind: "group",
    title: `v${version}`,
    createdBy: "someone",
    participants: [],
    participantCount: 2,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt,
    lastSeq: fields.lastSeq,
    lastMessage: null,
    unreadCount: fields.lastSeq - lastReadSeq,
    lastReadSeq,
    muted: false,
    reads: [],
  };
  return {
    conversationId,
    version,
    state,
    event: "updated",
    conversation: JSON.stringify(conversation),
    updatedAt,
    lastSeq: fields.lastSeq,
    lastReadSeq,
    unreadCount: conversation.unreadCount,
    kind: "group",
    title: conversation.title,
    participantCount: 2,
    muted: false,
  };
}
