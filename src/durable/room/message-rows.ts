import type { ReactionCount } from "../../protocol/models";
import type { AttachmentFields, MessageFields, QuoteFields } from "../../views";

/**
 * How the room's SQLite rows read and write: typed column readers, and a message row's columns and
 * values (its quote and reaction counts as JSON). storage.ts and outbox-log.ts run the queries.
 */

export type Row = Record<string, SqlStorageValue>;

export const str = (v: SqlStorageValue | undefined): string => (typeof v === "string" ? v : String(v ?? ""));
export const strOrNull = (v: SqlStorageValue | undefined): string | null =>
  typeof v === "string" ? v : null;
export const num = (v: SqlStorageValue | undefined): number => (typeof v === "number" ? v : Number(v ?? 0));

/**
 * How a system message's sender is stored: `sender_id` is NOT NULL in rooms created before system
 * messages existed (SQLite cannot relax a column in place), and "" is no user's id. It stays inside
 * the room's storage: everything above it sees `senderId: null`.
 */
export const SYSTEM_SENDER = "";

export const MESSAGE_COLUMNS =
  "seq, id, sender_id, body, client_id, created_at, edited_at, deleted_at, reply_quote, reaction_counts, attachments";

/** The columns a message is written with: the read ones, plus the replied message's id. */
export const INSERT_COLUMNS = `${MESSAGE_COLUMNS}, reply_to_id`;

/** A JSON column: parsed only when set (most messages are no reply, have no reactions and no files). */
const json = <T>(v: SqlStorageValue | undefined): T | null =>
  typeof v === "string" ? (JSON.parse(v) as T) : null;

export function toMessage(r: Row): MessageFields {
  return {
    seq: num(r.seq),
    id: str(r.id),
    senderId: r.sender_id === SYSTEM_SENDER ? null : str(r.sender_id),
    body: str(r.body),
    clientId: strOrNull(r.client_id),
    createdAt: str(r.created_at),
    editedAt: strOrNull(r.edited_at),
    deletedAt: strOrNull(r.deleted_at),
    replyTo: json<QuoteFields>(r.reply_quote),
    reactions: json<ReactionCount[]>(r.reaction_counts),
    attachments: json<AttachmentFields[]>(r.attachments),
  };
}

/** A message's values in INSERT_COLUMNS order. */
export function insertValues(m: MessageFields): SqlStorageValue[] {
  const { seq, id, senderId, body, clientId, createdAt, editedAt, deletedAt, replyTo, reactions } = m;
  const counts = reactions && reactions.length > 0 ? JSON.stringify(reactions) : null;
  const files = filesJson(m.attachments);
  const quote = replyTo ? JSON.stringify(replyTo) : null;
  return [
    seq,
    id,
    senderId ?? SYSTEM_SENDER,
    body,
    clientId,
    createdAt,
    editedAt,
    deletedAt,
    quote,
    counts,
    files,
    replyTo?.id ?? null,
  ];
}

/** A message's files as its column stores them: null for none. */
export const filesJson = (files: readonly AttachmentFields[] | null | undefined): string | null =>
  files && files.length > 0 ? JSON.stringify(files) : null;
