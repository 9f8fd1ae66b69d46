import type { DirectoryMember } from "../../db/conversations";
import type { MirroredParticipant } from "../../db/mirror";
import { type Metrics, NO_METRICS, meteredSql } from "../../observability/metrics";
import type { User } from "../../protocol/models";
import type { MessageFields } from "../../views";
import { ExtraRows } from "./extra-rows";
import {
  INSERT_COLUMNS,
  MESSAGE_COLUMNS,
  type Row,
  SYSTEM_SENDER,
  filesJson,
  insertValues,
  num,
  str,
  strOrNull,
  toMessage,
} from "./message-rows";
import { migrate } from "./schema";

/**
 * The conversation's own durable log and membership in the object's SQLite storage. Writes here are
 * local and covered by the output gate, so an ack sent after them is only released once they are
 * durable. D1 receives a copy through the outbox (outbox.ts; what is still to copy: outbox-log.ts).
 */

export interface RoomMeta {
  kind: "direct" | "group";
  title: string | null;
  createdAt: string;
  createdBy: string;
  /** Direct conversations: the pair's key in D1's directory (one direct conversation per pair). */
  directKey?: string | null;
  /**
   * The history shard (a D1 binding name, src/db/shards.ts) the outbox copies messages to. Absent
   * only in rooms from before sharding, until they wake (membership.ts records it then).
   */
  shard?: string | null;
}

export interface MemberRow extends User {
  active: boolean;
  /** No push notifications for this member (unread still counts). */
  muted: boolean;
  lastReadSeq: number;
  joinedAt: string;
  /** Direct conversations: hidden from this member's inbox until a message after this seq. */
  hiddenAtSeq: number | null;
}

/** A message as the room stores it (the sender is an id; views add the profile). */
export type StoredMessage = MessageFields;

/** How a (sender, clientId) pair is keyed in maps: the pair is what must be unique. */
export const clientKey = (senderId: string | null, clientId: string): string =>
  `${senderId ?? SYSTEM_SENDER}\n${clientId}`;

function toMember(r: Row): MemberRow {
  return {
    id: str(r.user_id),
    firstName: str(r.first_name),
    lastName: str(r.last_name),
    avatarUrl: strOrNull(r.avatar_url),
    active: num(r.active) === 1,
    muted: num(r.muted) === 1,
    lastReadSeq: num(r.last_read_seq),
    joinedAt: str(r.joined_at),
    hiddenAtSeq: r.hidden_at_seq === null || r.hidden_at_seq === undefined ? null : num(r.hidden_at_seq),
  };
}

export class RoomStorage {
  /** The object's SQL, counting the rows each write transaction writes (METRICS, `storage_write`). */
  readonly sql: Pick<SqlStorage, "exec">;
  /** Replies' quotes, reaction counts and who reacted with what (extra-rows.ts). */
  readonly extras: ExtraRows;

  constructor(
    private readonly storage: DurableObjectStorage,
    metrics: Metrics = NO_METRICS,
  ) {
    this.sql = meteredSql(storage.sql, metrics, "room");
    migrate(storage);
    this.extras = new ExtraRows(this.sql);
  }

  /** Runs `fn` as one SQLite transaction: all of it is durable together, or none of it. */
  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  readMeta(): RoomMeta | null {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = 'room'").toArray()[0];
    if (!row) return null;
    const { kind, title, createdAt, createdBy, directKey, shard } = JSON.parse(str(row.value)) as RoomMeta;
    return { kind, title, createdAt, createdBy, directKey: directKey ?? null, shard: shard ?? null };
  }

  writeMeta(meta: RoomMeta): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('room', ?)", JSON.stringify(meta));
  }

  readFlag(key: string): string | null {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? str(row.value) : null;
  }

  writeFlag(key: string, value: string | null): void {
    if (value === null) this.sql.exec("DELETE FROM meta WHERE key = ?", key);
    else this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  members(): MemberRow[] {
    return this.sql.exec("SELECT * FROM members").toArray().map(toMember);
  }

  /** Adds a member, or brings a former one back (their join time and read position stay). */
  addMember(user: User, joinedAt: string): void {
    this.sql.exec(
      `INSERT INTO members (user_id, first_name, last_name, avatar_url, active, joined_at, member_dirty)
       VALUES (?, ?, ?, ?, 1, ?, 1)
       ON CONFLICT (user_id) DO UPDATE SET active = 1, left_at = NULL, hidden_at_seq = NULL,
         member_dirty = 1, first_name = excluded.first_name, last_name = excluded.last_name,
         avatar_url = excluded.avatar_url`,
      user.id,
      user.firstName,
      user.lastName,
      user.avatarUrl,
      joinedAt,
    );
  }

  /** Stores a member exactly as D1 has them: nothing to copy back. */
  insertDirectoryMember(m: DirectoryMember): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO members (user_id, first_name, last_name, avatar_url, active, last_read_seq,
         joined_at, left_at, hidden_at_seq, muted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      m.id,
      m.firstName,
      m.lastName,
      m.avatarUrl,
      m.leftAt === null ? 1 : 0,
      m.lastReadSeq,
      m.joinedAt,
      m.leftAt,
      m.hiddenAtSeq,
      m.muted ? 1 : 0,
    );
  }

  /** Stores a member's profile numbered `version` unless the room has a newer one; whether it did. */
  updateProfile(user: User, version: number): boolean {
    return (
      this.sql.exec(
        `UPDATE members SET first_name = ?, last_name = ?, avatar_url = ?, profile_version = ?
         WHERE user_id = ? AND profile_version < ?`,
        user.firstName,
        user.lastName,
        user.avatarUrl,
        version,
        user.id,
        version,
      ).rowsWritten > 0
    );
  }

  /** A group member left: their sockets go, their messages stay. */
  markLeft(userId: string, at: string): void {
    this.sql.exec(
      "UPDATE members SET active = 0, left_at = ?, member_dirty = 1 WHERE user_id = ?",
      at,
      userId,
    );
  }

  /** A direct conversation leaves this member's inbox until a message after `seq`. */
  markHidden(userId: string, seq: number): void {
    this.sql.exec("UPDATE members SET hidden_at_seq = ?, member_dirty = 1 WHERE user_id = ?", seq, userId);
  }

  setMuted(userId: string, muted: boolean): void {
    this.sql.exec("UPDATE members SET muted = ?, member_dirty = 1 WHERE user_id = ?", muted ? 1 : 0, userId);
  }

  /** Stores read positions that moved (forward only), flagged for the outbox: one statement. */
  storeReads(rows: readonly { userId: string; lastReadSeq: number }[]): void {
    const [only] = rows;
    if (rows.length === 1 && only) {
      this.sql.exec(
        "UPDATE members SET last_read_seq = ?, read_dirty = 1 WHERE user_id = ? AND last_read_seq < ?",
        only.lastReadSeq,
        only.userId,
        only.lastReadSeq,
      );
    } else if (rows.length > 1) {
      this.sql.exec(
        `UPDATE members SET last_read_seq = j.value ->> 1, read_dirty = 1 FROM json_each(?) AS j
         WHERE members.user_id = j.value ->> 0 AND members.last_read_seq < j.value ->> 1`,
        JSON.stringify(rows.map((r) => [r.userId, r.lastReadSeq])),
      );
    }
  }

  lastSeq(): number {
    const row = this.sql.exec("SELECT MAX(seq) AS s FROM messages").toArray()[0];
    return num(row?.s);
  }

  insertMessage(m: StoredMessage): void {
    this.sql.exec(
      `INSERT INTO messages (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...insertValues(m),
    );
  }

  /**
   * Inserts a group of messages with one statement: the batch travels as one JSON parameter, each
   * message as the array of its INSERT_COLUMNS values (the single insert's own values, so both store
   * the same; positions read faster than keys, and nested JSON is already text).
   */
  insertMessages(messages: StoredMessage[]): void {
    if (messages.length === 1 && messages[0]) {
      this.insertMessage(messages[0]);
      return;
    }
    this.sql.exec(
      `INSERT INTO messages (${INSERT_COLUMNS})
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
              value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11
       FROM json_each(?)`,
      JSON.stringify(messages.map(insertValues)),
    );
  }

  /** The stored messages among these (sender, clientId) pairs, keyed by `clientKey`. */
  messagesByClientIds(byPeople: [senderId: string | null, clientId: string][]): Map<string, StoredMessage> {
    const found = new Map<string, StoredMessage>();
    if (byPeople.length === 0) return found;
    const pairs = byPeople.map(([sender, clientId]) => [sender ?? SYSTEM_SENDER, clientId] as const);
    const rows =
      pairs.length === 1 && pairs[0]
        ? this.sql.exec(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND client_id = ?`,
            pairs[0][0],
            pairs[0][1],
          )
        : this.sql.exec(
            `SELECT ${MESSAGE_COLUMNS.split(", ")
              .map((c) => `m.${c}`)
              .join(", ")}
             FROM json_each(?) AS j JOIN messages AS m ON m.sender_id = j.value ->> 0 AND m.client_id = j.value ->> 1`,
            JSON.stringify(pairs),
          );
    for (const row of rows) {
      const m = toMessage(row);
      if (m.clientId !== null) found.set(clientKey(m.senderId, m.clientId), m);
    }
    return found;
  }

  /** Changes a message and lists it for the outbox (the shard may have its previous version). */
  updateMessage(m: StoredMessage): void {
    this.sql.exec(
      "UPDATE messages SET body = ?, edited_at = ?, deleted_at = ?, attachments = ? WHERE seq = ?",
      m.body,
      m.editedAt,
      m.deletedAt,
      filesJson(m.attachments),
      m.seq,
    );
    this.sql.exec(
      "INSERT INTO outbox_changed (seq, rev) VALUES (?, 1) ON CONFLICT (seq) DO UPDATE SET rev = rev + 1",
      m.seq,
    );
  }

  /**
   * Puts back a message from the shard that the room's log no longer holds (older than its tail),
   * so it can be changed like any other; the outbox's next trim removes it again once copied.
   */
  restoreMessage(m: StoredMessage): void {
    this.sql.exec(
      `INSERT OR IGNORE INTO messages (${INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ...insertValues(m),
    );
  }

  messageById(id: string): StoredMessage | null {
    const row = this.sql.exec(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, id).toArray()[0];
    return row ? toMessage(row) : null;
  }

  messageBySeq(seq: number): StoredMessage | null {
    const row = this.sql.exec(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, seq).toArray()[0];
    return row ? toMessage(row) : null;
  }

  /** Messages with seq > after, ascending, at most `limit`. */
  messagesAfter(after: number, limit: number): StoredMessage[] {
    return this.sql
      .exec(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
      .toArray()
      .map(toMessage);
  }

  /** Messages with floor <= seq < before, the `limit` closest to `before`, returned ascending. */
  messagesBefore(before: number, limit: number, floor = 0): StoredMessage[] {
    return this.sql
      .exec(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq < ? AND seq >= ? ORDER BY seq DESC LIMIT ?`,
        before,
        floor,
        limit,
      )
      .toArray()
      .map(toMessage)
      .reverse();
  }

  /** The messages the log holds with from <= seq <= to, ascending. */
  messagesInRange(from: number, to: number): StoredMessage[] {
    return this.sql
      .exec(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq BETWEEN ? AND ? ORDER BY seq`, from, to)
      .toArray()
      .map(toMessage);
  }

  dirtyReads(): { userId: string; lastReadSeq: number }[] {
    return this.sql
      .exec("SELECT user_id, last_read_seq FROM members WHERE read_dirty = 1")
      .toArray()
      .map((r) => ({ userId: str(r.user_id), lastReadSeq: num(r.last_read_seq) }));
  }

  markReadSynced(userId: string, lastReadSeq: number): void {
    this.sql.exec(
      "UPDATE members SET read_dirty = 0 WHERE user_id = ? AND last_read_seq = ?",
      userId,
      lastReadSeq,
    );
  }

  /** Members whose participants row D1 has not seen in its latest state. */
  dirtyMembers(): MirroredParticipant[] {
    return this.sql
      .exec(
        "SELECT user_id, joined_at, left_at, hidden_at_seq, last_read_seq, muted FROM members WHERE member_dirty = 1",
      )
      .toArray()
      .map((r) => ({
        userId: str(r.user_id),
        joinedAt: str(r.joined_at),
        leftAt: strOrNull(r.left_at),
        hiddenAtSeq: r.hidden_at_seq === null ? null : num(r.hidden_at_seq),
        lastReadSeq: num(r.last_read_seq),
        muted: num(r.muted) === 1,
      }));
  }

  /** Clears the flag of members D1 now has, except where membership changed again since they were read. */
  markMembersSynced(rows: MirroredParticipant[]): void {
    if (rows.length === 0) return;
    this.sql.exec(
      `UPDATE members SET member_dirty = 0 FROM json_each(?) AS j
       WHERE members.user_id = j.value ->> 'userId' AND members.left_at IS j.value ->> 'leftAt'
         AND members.hidden_at_seq IS j.value ->> 'hiddenAtSeq' AND members.muted = j.value ->> 'muted'`,
      JSON.stringify(rows),
    );
  }

  addInboxPending(userId: string): void {
    this.sql.exec("INSERT OR IGNORE INTO inbox_pending (user_id) VALUES (?)", userId);
  }

  /** The users whose inbox is due a notice (they leave the list once their inbox took one). */
  inboxPending(): string[] {
    return this.sql
      .exec("SELECT user_id FROM inbox_pending")
      .toArray()
      .map((r) => str(r.user_id));
  }

  removeInboxPending(userIds: string[]): void {
    if (userIds.length === 0) return;
    this.sql.exec(
      "DELETE FROM inbox_pending WHERE user_id IN (SELECT value FROM json_each(?))",
      JSON.stringify(userIds),
    );
  }
}
