import type { FileLinks } from "../../attachments/links";
import { notFound } from "../../errors";
import type { Attachment, Conversation, Message, ReadPosition, User } from "../../protocol/models";
import { type AttachmentFields, conversationView, messageView, readPositions } from "../../views";
import type { MemberRow, RoomMeta, RoomStorage, StoredMessage } from "./storage";

/**
 * What the room holds in memory, rebuilt from its storage after every wake-up: the conversation,
 * its members (with their profiles, so no event needs a query) and the latest seq; and the views
 * built from them. The conversation id is the object's name: one identity, never passed in.
 */
export class RoomState {
  meta: RoomMeta | null;
  members = new Map<string, MemberRow>();
  lastSeq = 0;
  private activeCountCache: number | null = null;
  /** `reads` as every view and every `ready` carries it, until a position moves or membership changes. */
  private readsCache: ReadPosition[] | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    readonly id: string,
    private readonly store: RoomStorage,
    private readonly presenceMaxMembers: number,
    /** INBOX_PARTICIPANTS: how many participants inbox notices name (all are counted). */
    private readonly inboxParticipants = 10,
    /** Signs the links of files for whoever a message is shown to (attachments/links.ts). */
    private readonly links: FileLinks | null = null,
  ) {
    this.meta = store.readMeta();
    if (this.meta) this.reload();
  }

  get exists(): boolean {
    return this.meta !== null;
  }

  /**
   * A room with no conversation in storage runs `load` once (callers arriving meanwhile wait for
   * it, and nothing else runs); a room that has one never calls it again.
   */
  async ensureLoaded(ctx: DurableObjectState, load: () => Promise<void>): Promise<void> {
    if (this.meta) return;
    this.loading ??= ctx.blockConcurrencyWhile(async () => {
      if (!this.meta) await load();
    });
    try {
      await this.loading;
    } finally {
      this.loading = null;
    }
  }

  /**
   * Re-reads the conversation and its members after storage changed them. Read positions that moved
   * in memory and are not stored yet (signals.ts stores them per window) are kept: never backwards.
   */
  reload(): void {
    this.activeCountCache = null;
    this.readsCache = null;
    this.meta = this.store.readMeta();
    const before = this.members;
    this.members = new Map(
      this.store.members().map((m) => {
        const held = before.get(m.id)?.lastReadSeq ?? 0;
        if (held > m.lastReadSeq) m.lastReadSeq = held;
        return [m.id, m];
      }),
    );
    this.lastSeq = this.store.lastSeq();
  }

  requireMeta(): RoomMeta {
    if (!this.meta) throw notFound("Conversation not found");
    return this.meta;
  }

  /** Non-participants get the same 404 as a conversation that does not exist. */
  requireMember(userId: string): MemberRow {
    const member = this.members.get(userId);
    if (!member?.active) throw notFound("Conversation not found");
    return member;
  }

  isActive(userId: string): boolean {
    return this.members.get(userId)?.active === true;
  }

  get activeCount(): number {
    if (this.activeCountCache === null) {
      let n = 0;
      for (const m of this.members.values()) if (m.active) n++;
      this.activeCountCache = n;
    }
    return this.activeCountCache;
  }

  activeMemberIds(): string[] {
    const ids: string[] = [];
    for (const m of this.members.values()) if (m.active) ids.push(m.id);
    return ids;
  }

  /**
   * Presence events go to every socket whenever someone arrives or leaves: O(n²) as a room fills.
   * Rooms over PRESENCE_MAX_MEMBERS skip them.
   */
  get presenceOn(): boolean {
    return this.activeCount <= this.presenceMaxMembers;
  }

  /** Moves a member's read position in memory (forward only); storing it is the caller's part. */
  moveRead(member: MemberRow, seq: number): boolean {
    if (seq <= member.lastReadSeq) return false;
    member.lastReadSeq = seq;
    this.readsCache = null;
    return true;
  }

  /**
   * How far the members have read (see readPositions), at most PRESENCE_MAX_MEMBERS of them; built
   * once per change, not per `ready` (2,000 sockets joining a room would sort the members 2,000 times).
   */
  reads(): ReadPosition[] {
    if (this.readsCache === null) {
      const active: MemberRow[] = [];
      for (const m of this.members.values()) if (m.active) active.push(m);
      this.readsCache = readPositions(this.meta?.kind ?? "group", active, this.presenceMaxMembers);
    }
    return this.readsCache;
  }

  /**
   * A message as `viewer` sees it: its files' links are signed for them. Without a viewer (inbox
   * notices, which every member's inbox shares) they are the bare paths, served with a token.
   */
  messageView(m: StoredMessage, viewer: string | null = null): Message {
    const quoted = m.replyTo?.senderId ? this.members.get(m.replyTo.senderId) : undefined;
    const { links, id } = this;
    const link = (fileId: string) => (links ? links.url(id, fileId, viewer) : fileId);
    const sender = m.senderId === null ? undefined : this.members.get(m.senderId);
    return messageView(id, m, sender, quoted, link);
  }

  /** A file with its link for `viewer`. */
  fileView(file: AttachmentFields, viewer: string): Attachment {
    return { ...file, url: this.links ? this.links.url(this.id, file.id, viewer) : file.id };
  }

  /**
   * What every member's view of the conversation shares. Inbox notices carry only the first
   * INBOX_PARTICIPANTS participants (`forInbox`) and the count, so one message does not ship the
   * whole member list to every inbox, and an inbox page stays small whatever the groups' sizes.
   */
  sharedView(
    forInbox: boolean,
    viewer: string | null = null,
  ): Omit<Conversation, "unreadCount" | "lastReadSeq" | "muted"> {
    const meta = this.requireMeta();
    const last = this.lastSeq > 0 ? this.store.messageBySeq(this.lastSeq) : null;
    let participants: User[] = [...this.members.values()]
      .filter((m) => m.active)
      .toSorted((a, b) =>
        a.joinedAt === b.joinedAt ? (a.id < b.id ? -1 : 1) : a.joinedAt < b.joinedAt ? -1 : 1,
      )
      .map(({ id, firstName, lastName, avatarUrl }) => ({ id, firstName, lastName, avatarUrl }));
    const participantCount = participants.length;
    let reads = this.reads();
    if (forInbox) {
      participants = participants.slice(0, this.inboxParticipants);
      // Summarized like the participants: the furthest along (a direct conversation has two).
      reads = reads.slice(0, this.inboxParticipants);
    }
    return {
      id: this.id,
      kind: meta.kind,
      title: meta.title,
      createdBy: meta.createdBy,
      participants,
      participantCount,
      createdAt: meta.createdAt,
      updatedAt: last && last.createdAt > meta.createdAt ? last.createdAt : meta.createdAt,
      lastSeq: this.lastSeq,
      lastMessage: last ? this.messageView(last, viewer) : null,
      reads,
    };
  }

  /** Whether inbox notices show this user: among the participants they list, or as the last sender. */
  inboxShows(userId: string): boolean {
    const shared = this.sharedView(true);
    return shared.participants.some((p) => p.id === userId) || shared.lastMessage?.sender?.id === userId;
  }

  /** Whether inbox notices show this message: it is the last one, or the last one quotes it. */
  inboxShowsMessage(messageId: string): boolean {
    const last = this.lastSeq > 0 ? this.store.messageBySeq(this.lastSeq) : null;
    return last !== null && (last.id === messageId || last.replyTo?.id === messageId);
  }

  /** The conversation as one member sees it (their unread count, read position and mute). */
  viewFor(member: MemberRow, shared = this.sharedView(false, member.id)): Conversation {
    return conversationView(
      shared,
      shared.participants,
      shared.lastMessage,
      member.lastReadSeq,
      shared.reads,
      member.muted,
    );
  }
}
