import type { SearchConversation } from "../../protocol/responses";
import { type InboxCursor, encodeCursor } from "./cursor";
import { type InboxNotice, type InboxState, conversationFrame, removedFrame } from "./notice";

/** A conversation's row as the inbox has it, before a notice changes it. */
export interface InboxRow {
  version: number;
  state: InboxState;
  /** The Conversation JSON; null once the user left. */
  conversation: string | null;
  muted: boolean;
}

/** What applying one notice did. */
export interface Applied {
  /** False for a notice no newer than the row (a late or repeated one): nothing changed. */
  applied: boolean;
  /** The frame the user's sockets get, when what they show changed. */
  frame: string | null;
  /** The row after the notice. */
  row: InboxRow | null;
}

const STATES: readonly InboxState[] = ["visible", "hidden", "left"];

/**
 * The user's inbox in their object's SQLite: one row per conversation, the newest notice each room
 * sent about it, and the listing read from them. Writes are local and synchronous: a notice is
 * stored before the room's call returns.
 */
export class InboxRows {
  private readonly sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.sql = storage.sql;
  }

  get(conversationId: string): InboxRow | null {
    const row = this.sql
      .exec<{ version: number; state: string; conversation: string | null; muted: number }>(
        "SELECT version, state, conversation, muted FROM conversations WHERE conversation_id = ?",
        conversationId,
      )
      .toArray()[0];
    if (!row) return null;
    const state = STATES.find((s) => s === row.state) ?? "left";
    return { version: row.version, state, conversation: row.conversation, muted: row.muted === 1 };
  }

  /**
   * Stores a notice if it is newer than the row: versions only grow, so a late notice never takes
   * the row back, and a conversation the user left stays out until a newer notice (they were added
   * again). A notice that changes nothing visible still moves the version on (a notice built
   * between the two must not win afterwards), but tells no socket.
   */
  apply(notice: InboxNotice): Applied {
    const before = this.get(notice.conversationId);
    if (before && notice.version <= before.version) return { applied: false, frame: null, row: before };
    if (notice.state === "left") {
      // The version stays (it keeps older notices out); what the user no longer may see goes.
      this.sql.exec(
        `INSERT INTO conversations (conversation_id, version, state, updated_at, last_seq, last_read_seq,
           unread_count, muted, participant_count)
         VALUES (?, ?, 'left', '', 0, 0, 0, 0, 0)
         ON CONFLICT (conversation_id) DO UPDATE SET version = excluded.version, state = 'left',
           conversation = NULL, title = NULL, unread_count = 0`,
        notice.conversationId,
        notice.version,
      );
      const frame = !before || before.state === "visible" ? removedFrame(notice.conversationId) : null;
      return {
        applied: true,
        frame,
        row: { version: notice.version, state: "left", conversation: null, muted: false },
      };
    }
    this.sql.exec(
      `INSERT INTO conversations (conversation_id, version, state, updated_at, last_seq, last_read_seq,
         unread_count, muted, kind, title, participant_count, conversation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET version = excluded.version, state = excluded.state,
         updated_at = excluded.updated_at, last_seq = excluded.last_seq,
         last_read_seq = excluded.last_read_seq, unread_count = excluded.unread_count,
         muted = excluded.muted, kind = excluded.kind, title = excluded.title,
         participant_count = excluded.participant_count, conversation = excluded.conversation`,
      notice.conversationId,
      notice.version,
      notice.state,
      notice.updatedAt,
      notice.lastSeq,
      notice.lastReadSeq,
      notice.unreadCount,
      notice.muted ? 1 : 0,
      notice.kind,
      notice.title,
      notice.participantCount,
      notice.conversation,
    );
    let frame: string | null = null;
    if (notice.state === "visible") {
      const unchanged = before?.state === "visible" && before.conversation === notice.conversation;
      if (!unchanged) frame = conversationFrame(notice);
    } else if (!before || before.state === "visible") {
      frame = removedFrame(notice.conversationId);
    }
    const row: InboxRow = {
      version: notice.version,
      state: notice.state,
      conversation: notice.conversation,
      muted: notice.muted,
    };
    return { applied: true, frame, row };
  }

  /**
   * One page of the listing as the JSON of `GET /api/conversations`, built from the stored JSON of
   * each conversation without parsing it: most recent activity first, visible conversations only.
   */
  page(limit: number, cursor: InboxCursor | null): string {
    type Listed = { conversation_id: string; updated_at: string; conversation: string };
    const columns = "SELECT conversation_id, updated_at, conversation FROM conversations";
    const order = "ORDER BY updated_at DESC, conversation_id DESC LIMIT ?";
    const rows = (
      cursor
        ? this.sql.exec<Listed>(
            `${columns} WHERE state = 'visible' AND (updated_at, conversation_id) < (?, ?) ${order}`,
            cursor[0],
            cursor[1],
            limit + 1,
          )
        : this.sql.exec<Listed>(`${columns} WHERE state = 'visible' ${order}`, limit + 1)
    ).toArray();
    const shown = rows.slice(0, limit);
    const last = shown[shown.length - 1];
    const next = rows.length > limit && last ? encodeCursor(last.updated_at, last.conversation_id) : null;
    return `{"conversations":[${shown.map((r) => r.conversation).join(",")}],"nextCursor":${JSON.stringify(next)}}`;
  }

  /**
   * The conversations the user is in, listed or hidden (a hidden direct conversation is still
   * theirs), never one they left: what their message search covers. With `conversationId`, that
   * one only, if it is theirs.
   */
  scope(conversationId: string | null): SearchConversation[] {
    type Row = { conversation_id: string; kind: string | null; title: string | null };
    const columns = "SELECT conversation_id, kind, title FROM conversations WHERE state <> 'left'";
    const rows = (
      conversationId === null
        ? this.sql.exec<Row>(columns)
        : this.sql.exec<Row>(`${columns} AND conversation_id = ?`, conversationId)
    ).toArray();
    return rows.map((r) => ({
      id: r.conversation_id,
      kind: r.kind === "direct" ? "direct" : "group",
      title: r.title,
    }));
  }

  /** Every conversation the inbox has a row for, left ones included, most recent activity first. */
  conversationIds(): string[] {
    return this.sql
      .exec<{ conversation_id: string }>("SELECT conversation_id FROM conversations ORDER BY updated_at DESC")
      .toArray()
      .map((r) => r.conversation_id);
  }

  /** Forgets every row (the user deleted their account); the flags stay. */
  clear(): void {
    this.sql.exec("DELETE FROM conversations");
  }

  readFlag(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? row.value : null;
  }

  writeFlag(key: string, value: string | null): void {
    if (value === null) this.sql.exec("DELETE FROM meta WHERE key = ?", key);
    else this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }
}
