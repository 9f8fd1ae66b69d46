import type {
  Attachment,
  Conversation,
  Message,
  Quote,
  ReactionCount,
  ReadPosition,
  User,
} from "./protocol/models";

/** Builds the API objects from stored rows, in one place for the Worker and the objects. */

export interface MessageFields {
  id: string;
  seq: number;
  /** null: a system message (posted through the server API without a sender). */
  senderId: string | null;
  body: string;
  clientId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** The quoted message of a reply, as stored with it (absent: not a reply). */
  replyTo?: QuoteFields | null;
  /** Reaction counts (absent: none). */
  reactions?: readonly ReactionCount[] | null;
  /** The files sent with it, without their links (absent: none). */
  attachments?: readonly AttachmentFields[] | null;
}

/** A file as stored with its message; views add the link (`url`) for whoever is shown it. */
export type AttachmentFields = Omit<Attachment, "url">;

/** A file's link for the reader of the view (see attachments/links.ts). */
export type FileLink = (attachmentId: string) => string;

/** A reply's snapshot of the message it answers (the sender is an id; views add the profile). */
export interface QuoteFields {
  id: string;
  seq: number;
  /** null: the quoted message is a system message. */
  senderId: string | null;
  body: string;
  deletedAt: string | null;
}

const UNKNOWN_USER = (id: string): User => ({ id, firstName: "", lastName: "", avatarUrl: null });

/** Exactly the public fields: callers pass richer rows (a room's member row carries read state). */
const publicUser = (u: User): User => ({
  id: u.id,
  firstName: u.firstName,
  lastName: u.lastName,
  avatarUrl: u.avatarUrl,
});

/**
 * `quoteSender`: the profile of the quoted message's sender, when `m` is a reply; `link`: each
 * attachment's `url` for the reader (a bare id without it, which only tests that show no files use).
 */
export function messageView(
  conversationId: string,
  m: MessageFields,
  sender: User | undefined,
  quoteSender?: User,
  link: FileLink = (id) => id,
): Message {
  const q = m.replyTo;
  const replyTo: Quote | null = q
    ? {
        id: q.id,
        seq: q.seq,
        sender: q.senderId === null ? null : quoteSender ? publicUser(quoteSender) : UNKNOWN_USER(q.senderId),
        body: q.deletedAt ? "" : q.body,
        deletedAt: q.deletedAt,
      }
    : null;
  return {
    id: m.id,
    conversationId,
    seq: m.seq,
    sender: m.senderId === null ? null : sender ? publicUser(sender) : UNKNOWN_USER(m.senderId),
    // A tombstone never carries the deleted text, whatever the row still holds.
    body: m.deletedAt ? "" : m.body,
    clientId: m.clientId,
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    deletedAt: m.deletedAt,
    replyTo,
    // A tombstone keeps no reactions (it cannot get new ones either).
    reactions: m.deletedAt || !m.reactions ? [] : [...m.reactions],
    // A tombstone's files are deleted with it.
    attachments: m.deletedAt || !m.attachments ? [] : m.attachments.map((a) => ({ ...a, url: link(a.id) })),
    system: m.senderId === null,
  };
}

export interface ConversationFields {
  id: string;
  kind: "direct" | "group";
  title: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  lastSeq: number;
  /** When `participants` is a summary: how many there are in all. */
  participantCount?: number;
}

/**
 * The caller's own part of a conversation. Every message after the read position counts as unread,
 * tombstones included: seq has no gaps, so this needs no query. A sender's own messages move their
 * read position (see the room).
 */
export function readState(
  lastSeq: number,
  lastReadSeq: number,
): { unreadCount: number; lastReadSeq: number } {
  const readSeq = Math.min(lastReadSeq, lastSeq);
  return { unreadCount: Math.max(0, lastSeq - readSeq), lastReadSeq: readSeq };
}

export function conversationView(
  c: ConversationFields,
  participants: User[],
  lastMessage: Message | null,
  lastReadSeq: number,
  reads: ReadPosition[],
  muted = false,
): Conversation {
  return {
    id: c.id,
    kind: c.kind,
    title: c.title,
    createdBy: c.createdBy,
    participants,
    participantCount: c.participantCount ?? participants.length,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    lastSeq: c.lastSeq,
    lastMessage,
    ...readState(c.lastSeq, lastReadSeq),
    muted,
    reads,
  };
}

/**
 * The `reads` of a conversation: every participant of a direct conversation; in a group the `max`
 * furthest along (a read position of 0 says nothing), so the list stays small in a crowd.
 */
export function readPositions(
  kind: "direct" | "group",
  members: Iterable<{ id: string; lastReadSeq: number }>,
  max: number,
): ReadPosition[] {
  const all: ReadPosition[] = [];
  for (const m of members) {
    if (kind === "group" && m.lastReadSeq <= 0) continue;
    all.push({ userId: m.id, lastReadSeq: m.lastReadSeq });
  }
  if (kind === "direct") return all;
  all.sort((a, b) => b.lastReadSeq - a.lastReadSeq || (a.userId < b.userId ? -1 : 1));
  return all.length > max ? all.slice(0, max) : all;
}
