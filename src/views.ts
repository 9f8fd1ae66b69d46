import type { Conversation, Message, User } from "./protocol/models";

/** Builds the API objects from stored rows, in one place for the Worker and the objects. */

export interface MessageFields {
  id: string;
  seq: number;
  senderId: string;
  body: string;
  clientId: string | null;
  createdAt: string;
  editedAt: string | null;
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

export function messageView(conversationId: string, m: MessageFields, sender: User | undefined): Message {
  return {
    id: m.id,
    conversationId,
    seq: m.seq,
    sender: sender ? publicUser(sender) : UNKNOWN_USER(m.senderId),
    // A tombstone never carries the deleted text, whatever the row still holds.
    body: m.deletedAt ? "" : m.body,
    clientId: m.clientId,
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    deletedAt: m.deletedAt,
  };
}

export interface ConversationFields {
  id: string;
  kind: "direct" | "group";
  title: string | null;
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
): Conversation {
  return {
    id: c.id,
    kind: c.kind,
    title: c.title,
    participants,
    participantCount: c.participantCount ?? participants.length,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    lastSeq: c.lastSeq,
    lastMessage,
    ...readState(c.lastSeq, lastReadSeq),
  };
}
