import { ApiError, notFound } from "../../errors";
import { newId, nowIso } from "../../ids";
import { quoteBody } from "../../protocol/text";
import type { AttachmentFields, QuoteFields } from "../../views";
import type { RoomFiles } from "./files";
import type { RoomState } from "./state";
import { type RoomStorage, type StoredMessage, clientKey } from "./storage";
import type { RateWindow } from "./throttles";

/** One send of a committed group, in the order it was accepted. */
export interface CommittedSend {
  message: StoredMessage;
  /** False when the clientId had been used: `message` is the original and nothing was stored. */
  created: boolean;
  clientId: string | null;
  /** The socket that sent it (it gets the ack), or null for a REST send. */
  from: WebSocket | null;
}

export interface CommittedGroup {
  readonly sends: readonly CommittedSend[];
  /** How many new messages the group stored. */
  readonly stored: number;
}

interface PendingSend {
  /** null: a system message (the server API), with no sender. */
  senderId: string | null;
  body: string;
  clientId: string | null;
  from: WebSocket | null;
  replyTo: QuoteFields | null;
  /** The files it carries, claimed for it (null: none, or a resend of a stored clientId). */
  files: AttachmentFields[] | null;
}

/** What a send may carry besides its text. */
export interface SendExtras {
  /** The id of the message it answers. */
  replyTo?: string | undefined;
  /** The ids of files the sender uploaded to this conversation. */
  attachments?: readonly string[] | undefined;
}

/** The room's files as sends and deletions use them (files.ts). */
export type FileClaims = Pick<RoomFiles, "claim" | "unclaim" | "attach" | "detach">;

/** A room without files (unit tests of other modules): a send naming one is refused. */
const NO_FILES: FileClaims = {
  claim: (_sender, _claimant, ids) => {
    if (ids.length > 0) throw new ApiError("validation_failed", "This room takes no attachments");
    return [];
  },
  unclaim: () => undefined,
  attach: () => undefined,
  detach: () => undefined,
};

const NOTHING: CommittedGroup = { sends: [], stored: 0 };

/** A stored message's fields other than its body, serialized (ids, times, JSON keys), generously. */
const ROW_OVERHEAD_BYTES = 256;

/**
 * The room's writes, all synchronous SQLite work on the room's own log. Sends are committed in
 * groups: frames that arrive before the group's timer fires are numbered, deduplicated (one query)
 * and stored (one statement) in one transaction, then acked and fanned out together. Edits and
 * deletes act on committed state (read positions are signals.ts's). Each write returns what it
 * committed; telling the sockets, the outbox and the inboxes is the caller's part.
 */
export class GroupCommit {
  private pending: PendingSend[] = [];
  private scheduled = false;
  /** Tells apart the claims of sends without a clientId. */
  private anonymous = 0;

  constructor(
    private readonly store: RoomStorage,
    private readonly state: RoomState,
    private readonly rate: RateWindow,
    private readonly maxMessageChars: number,
    /** Marks every inbox as due a notice; runs inside the commit's transaction. */
    private readonly notices: { markAll(): void },
    /** Commits and delivers the open group; called from a timer once a group is started. */
    private readonly onGroupDue: () => void,
    /** STORAGE_BATCH_MAX_BYTES: the most message bytes one group stores in one transaction. */
    private readonly maxGroupBytes = Number.POSITIVE_INFINITY,
    /** Told how many new messages each commit stored (the `message` counter). */
    private readonly onStored: (count: number) => void = () => undefined,
    private readonly files: FileClaims = NO_FILES,
  ) {}

  /**
   * Validates and rate-limits one message and queues it for the group commit, which numbers,
   * deduplicates and stores it. Nothing is acknowledged before the commit.
   */
  accept(
    senderId: string | null,
    rawBody: string,
    clientId: string | null,
    from: WebSocket | null,
    extras: SendExtras = {},
  ): void {
    const fileIds = extras.attachments ?? [];
    // With files, the text may be empty.
    const body = this.checkBody(rawBody, fileIds.length > 0);
    // Only a reply reads anything here: a plain send costs what it always did.
    const replyTo = extras.replyTo === undefined ? null : this.quoteOf(extras.replyTo);
    const files = fileIds.length === 0 ? null : this.claimFiles(senderId, clientId, fileIds);
    try {
      // System messages share one budget per room, like one more sender ("" is nobody's id).
      this.rate.take(senderId ?? "");
    } catch (err) {
      if (files) this.files.unclaim(fileIds);
      throw err;
    }
    this.pending.push({ senderId, body, clientId, from, replyTo, files });
    if (!this.scheduled) {
      this.scheduled = true;
      // Frames that arrive before this timer fires join the same transaction: one durable write
      // (one fsync locally) for the whole group instead of one per message.
      setTimeout(this.onGroupDue, 0);
    }
  }

  /** A REST send does not wait for company: it commits now, with whatever sockets queued. */
  sendNow(
    senderId: string | null,
    body: string,
    clientId: string | null,
    extras: SendExtras = {},
  ): { group: CommittedGroup; own: CommittedSend } {
    this.accept(senderId, body, clientId, null, extras);
    // The open group may be over the byte cap: it is committed in as many groups as it takes.
    const sends: CommittedSend[] = [];
    let stored = 0;
    while (this.pending.length > 0) {
      const group = this.commit();
      sends.push(...group.sends);
      stored += group.stored;
    }
    const own = sends[sends.length - 1];
    if (!own) throw new Error("send was not committed");
    return { group: { sends, stored }, own };
  }

  /**
   * Group commit: one query finds the clientIds already used, one statement stores the new
   * messages. The SQL work per group does not grow with its size (per-message statements were half
   * the echo benchmark's CPU).
   */
  commit(): CommittedGroup {
    this.scheduled = false;
    const batch = this.takeGroup();
    if (batch.length === 0) return NOTHING;
    const known = this.store.messagesByClientIds(
      batch.flatMap((p) =>
        p.clientId === null ? [] : [[p.senderId, p.clientId] as [string | null, string]],
      ),
    );
    const sends: CommittedSend[] = [];
    const fresh: StoredMessage[] = [];
    const createdAt = nowIso();
    const lastSeq = this.state.lastSeq;
    for (const p of batch) {
      const key = p.clientId === null ? null : clientKey(p.senderId, p.clientId);
      const original = key === null ? undefined : known.get(key);
      if (original) {
        // A resend within the group: its files were claimed for the send stored first.
        if (p.files) this.files.unclaim(p.files.map((f) => f.id));
        sends.push({ message: original, created: false, clientId: p.clientId, from: p.from });
        continue;
      }
      const message: StoredMessage = {
        seq: lastSeq + fresh.length + 1,
        id: newId("m"),
        senderId: p.senderId,
        body: p.body,
        clientId: p.clientId,
        createdAt,
        editedAt: null,
        deletedAt: null,
        replyTo: p.replyTo,
        attachments: p.files,
      };
      fresh.push(message);
      sends.push({ message, created: true, clientId: p.clientId, from: p.from });
      if (key !== null) known.set(key, message); // the same clientId twice in one group
    }
    if (fresh.length > 0) {
      this.storeFresh(fresh);
      this.onStored(fresh.length);
    }
    return { sends, stored: fresh.length };
  }

  /**
   * The oldest pending sends whose bodies fit the byte cap (at least one): the group's one
   * statement binds them as one JSON string, which SQLite refuses over 2 MB. The rest wait for the
   * next group, which is scheduled at once.
   */
  private takeGroup(): PendingSend[] {
    let bytes = 0;
    let n = 0;
    for (const p of this.pending) {
      // An upper bound without encoding: at most 3 UTF-8 bytes per UTF-16 unit, plus the row's other fields.
      const quote = p.replyTo ? p.replyTo.body.length * 3 + ROW_OVERHEAD_BYTES : 0;
      const files = p.files ? JSON.stringify(p.files).length * 3 : 0;
      const size = p.body.length * 3 + ROW_OVERHEAD_BYTES + quote + files;
      if (n > 0 && bytes + size > this.maxGroupBytes) break;
      bytes += size;
      n++;
    }
    const group = this.pending;
    if (n === group.length) {
      this.pending = [];
      return group;
    }
    this.pending = group.splice(n);
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(this.onGroupDue, 0);
    }
    return group;
  }

  /**
   * Stores the messages and nothing per message beyond them. Sending implies having read everything
   * up to one's own message: the senders' positions move in memory here (views and notices show it
   * at once) and are stored with the next signals window (the room calls `Signals.sent`).
   */
  private storeFresh(fresh: StoredMessage[]): void {
    this.store.transaction(() => {
      this.store.insertMessages(fresh);
      for (const m of fresh) {
        if (m.attachments)
          this.files.attach(
            m.seq,
            m.attachments.map((f) => f.id),
          );
      }
      this.notices.markAll();
    });
    this.state.lastSeq += fresh.length;
    for (const m of fresh) {
      // A system message has no sender: it moves nobody's read position.
      const member = m.senderId === null ? undefined : this.state.members.get(m.senderId);
      if (member) this.state.moveRead(member, m.seq);
    }
  }

  /**
   * Edits one's own message; returns the stored result. The quotes of its replies are rewritten in
   * the same transaction, so history never shows a reply quoting text that is no longer there.
   */
  edit(userId: string, messageId: string, rawBody: string): StoredMessage {
    const body = this.checkBody(rawBody);
    const message = this.ownMessage(userId, messageId);
    if (message.deletedAt) throw new ApiError("validation_failed", "A deleted message cannot be edited");
    this.rate.take(userId); // edits fan out and reach D1 like sends: same budget
    const updated: StoredMessage = { ...message, body, editedAt: nowIso() };
    this.store.transaction(() => {
      this.store.updateMessage(updated);
      this.store.extras.updateQuotes(updated.id, quoteBody(body), null);
    });
    return updated;
  }

  /** Deletes one's own message, leaving a tombstone; deleting a tombstone again changes nothing. */
  remove(userId: string, messageId: string): { message: StoredMessage; changed: boolean } {
    const message = this.ownMessage(userId, messageId);
    if (message.deletedAt) return { message, changed: false };
    this.rate.take(userId);
    return { message: this.tombstone(message), changed: true };
  }

  /**
   * The one way a message becomes a tombstone, whether its sender deletes it or deletes their
   * account (erasure.ts): the body goes, the deletion time and the quotes of its replies are
   * rewritten, and its files are detached (due for deletion from R2 at once by the room's alarm,
   * files.ts), all in one transaction.
   */
  tombstone(message: StoredMessage): StoredMessage {
    const updated: StoredMessage = { ...message, body: "", deletedAt: nowIso(), attachments: null };
    this.store.transaction(() => {
      this.store.updateMessage(updated);
      this.store.extras.updateQuotes(updated.id, "", updated.deletedAt);
      // Its files go with it: due for deletion from R2 at once (files.ts).
      this.files.detach(updated.seq);
    });
    return updated;
  }

  /**
   * Claims a send's files (files.ts), unless it resends a stored clientId: that send is answered
   * with the original message, whose files were claimed and attached the first time.
   */
  private claimFiles(
    senderId: string | null,
    clientId: string | null,
    ids: readonly string[],
  ): AttachmentFields[] | null {
    // Files are their uploader's to send: a system message has nobody who uploaded them.
    if (senderId === null) throw new ApiError("validation_failed", "A system message carries no attachments");
    if (clientId !== null && this.store.messagesByClientIds([[senderId, clientId]]).size > 0) return null;
    const claimant = clientId === null ? `${senderId}\n#${++this.anonymous}` : clientKey(senderId, clientId);
    return this.files.claim(senderId, claimant, ids);
  }

  private checkBody(raw: string, mayBeEmpty = false): string {
    const body = raw.trim();
    const max = this.maxMessageChars;
    // Characters are code points, as in the REST schema (zod); UTF-16 length is an upper bound.
    const length = body.length <= max ? body.length : codePointLength(body);
    if ((length === 0 && !mayBeEmpty) || length > max) {
      throw new ApiError("validation_failed", `body must be 1 to ${max} characters`, {
        details: [{ path: "body", message: body.length === 0 ? "must not be empty" : "too long" }],
      });
    }
    return body;
  }

  /** The quote of the message a send answers: one of this conversation's, not deleted (else 422). */
  private quoteOf(messageId: string): QuoteFields {
    const original = this.store.messageById(messageId);
    if (!original || original.deletedAt) {
      throw new ApiError(
        "validation_failed",
        original ? "A deleted message cannot be replied to" : "replyTo is not a message of this conversation",
        { details: [{ path: "replyTo", message: original ? "the message was deleted" : "unknown message" }] },
      );
    }
    const { id, seq, senderId, body } = original;
    return { id, seq, senderId, body: quoteBody(body), deletedAt: null };
  }

  private ownMessage(userId: string, messageId: string): StoredMessage {
    const message = this.store.messageById(messageId);
    if (!message) throw notFound("Message not found");
    if (message.senderId !== userId) throw new ApiError("forbidden", "Only the sender can change a message");
    return message;
  }
}

function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
