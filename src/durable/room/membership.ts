import { openDb } from "../../db/client";
import { loadDirectorySnapshot } from "../../db/conversations";
import { LEGACY_SHARD, placeConversation } from "../../db/shards";
import { ApiError, notFound } from "../../errors";
import { directKeyOf, nowIso } from "../../ids";
import type { User } from "../../protocol/models";
import { erasedFlag } from "./erasure";
import { CONVERSATION_DIRTY } from "./outbox";
import type { RoomState } from "./state";
import type { MemberRow, RoomStorage } from "./storage";

/** What the Worker hands a room to create its conversation (the people are checked to exist). */
export interface NewConversation {
  kind: "direct" | "group";
  title: string | null;
  createdBy: string;
  createdAt: string;
  members: User[];
}

/**
 * Who hears about membership changes as they are stored (the webhook outbox): every change that
 * adds or removes a member passes through here, whichever route or frame caused it.
 */
export interface MembershipEvents {
  created(): void;
  added(users: readonly User[]): void;
  left(user: User): void;
}

const NO_EVENTS: MembershipEvents = { created() {}, added() {}, left() {} };

/**
 * The room is the one writer of its membership: joins, leaves and hides are stored here first and
 * reach D1's directory through the outbox (`changed` tells it), like messages.
 */
export class Membership {
  constructor(
    private readonly store: RoomStorage,
    private readonly state: RoomState,
    private readonly maxGroupSize: number,
    /** Called after every change, so the outbox copies it. */
    private readonly changed: () => void,
    /** Where a new conversation's history may be placed: the open shards of HISTORY_SHARDS. */
    private readonly shards: readonly string[],
    private readonly events: MembershipEvents = NO_EVENTS,
  ) {}

  /** Stores a new conversation and its members in one transaction; false if the room has one already. */
  create(c: NewConversation): boolean {
    if (this.state.exists) return false;
    const [a, b] = c.members;
    const directKey = c.kind === "direct" && a && b ? directKeyOf(a.id, b.id) : null;
    this.store.transaction(() => {
      this.store.writeMeta({
        kind: c.kind,
        title: c.title,
        createdAt: c.createdAt,
        createdBy: c.createdBy,
        directKey,
        shard: placeConversation(this.state.id, this.shards),
      });
      for (const user of c.members) this.store.addMember(user, c.createdAt);
      this.store.writeFlag(CONVERSATION_DIRTY, "1");
    });
    this.state.reload();
    this.changed();
    this.events.created();
    return true;
  }

  /**
   * A room created before rooms owned membership finds its conversation in D1's directory, once.
   * A conversation row without participants is not stored (a membership frozen empty could never
   * be repaired): the room stays empty, answers 404, and looks again next time.
   */
  async loadFromDirectory(db: D1Database): Promise<void> {
    const snapshot = await loadDirectorySnapshot(openDb(db), this.state.id);
    if (!snapshot || snapshot.members.length === 0) return;
    const { shard, ...conversation } = snapshot.conversation;
    this.store.transaction(() => {
      this.store.writeMeta({ ...conversation, shard: shard ?? LEGACY_SHARD });
      for (const m of snapshot.members) this.store.insertDirectoryMember(m);
      // A conversation from before sharding: the directory learns the shard its room now uses.
      if (shard === null) this.store.writeFlag(CONVERSATION_DIRTY, "1");
    });
    this.state.reload();
    if (shard === null) this.changed();
  }

  /**
   * A room from before sharding has no shard in its meta: its history is in the directory
   * database, reached as HISTORY_0 (src/db/shards.ts). Recorded once, here and (through the
   * outbox) in the directory, like any other conversation's shard.
   */
  recordLegacyShard(): void {
    const meta = this.state.meta;
    if (!meta || meta.shard) return;
    this.store.transaction(() => {
      this.store.writeMeta({ ...meta, shard: LEGACY_SHARD });
      this.store.writeFlag(CONVERSATION_DIRTY, "1");
    });
    this.state.reload();
    this.changed();
  }

  /**
   * Someone a request names as acting (the server API's senderId): a participant who has not deleted
   * their account (a direct conversation still lists them), or a 422.
   */
  requireParticipant(userId: string, path: string): void {
    if (this.state.isActive(userId) && this.store.readFlag(erasedFlag(userId)) === null) return;
    throw new ApiError("validation_failed", `${path} is not a participant of this conversation`, {
      details: [{ path, message: "not a participant of this conversation" }],
    });
  }

  /**
   * Groups only: adds users (checked to exist by the Worker); returns the ones who were not members.
   * The size check and the write are one synchronous turn, so concurrent adds cannot both pass the
   * check: keep every await out of this method (test/limits/group-size.test.ts races them).
   */
  add(users: User[]): User[] {
    if (this.state.requireMeta().kind !== "group") {
      throw new ApiError("validation_failed", "Participants can only be added to group conversations");
    }
    const fresh = users.filter((u) => !this.state.isActive(u.id));
    if (this.state.activeCount + fresh.length > this.maxGroupSize) {
      throw new ApiError("validation_failed", `A group has at most ${this.maxGroupSize} participants`, {
        details: [{ path: "userIds", message: "too many participants" }],
      });
    }
    if (fresh.length === 0) return fresh;
    const now = nowIso();
    this.store.transaction(() => {
      for (const u of fresh) this.store.addMember(u, now);
    });
    this.state.reload();
    this.changed();
    this.events.added(fresh);
    return fresh;
  }

  /** Groups only: a new title (null: none), from any participant. False if it was the title already. */
  rename(title: string | null): boolean {
    const meta = this.requireGroup("Only a group can be renamed");
    if (meta.title === title) return false;
    this.store.transaction(() => {
      this.store.writeMeta({ ...meta, title });
      this.store.writeFlag(CONVERSATION_DIRTY, "1");
    });
    this.state.reload();
    this.changed();
    return true;
  }

  /**
   * Groups only: `by` takes `userId` out of the group. The creator may remove anyone; anyone may
   * remove themselves (leaving); anything else is 403. Returns the member who left.
   */
  remove(by: MemberRow, userId: string): MemberRow {
    const meta = this.requireGroup("Participants can only be removed from group conversations");
    if (userId !== by.id && meta.createdBy !== by.id) {
      throw new ApiError("forbidden", "Only the group's creator can remove other participants");
    }
    const target = this.state.members.get(userId);
    if (!target?.active) throw notFound("Participant not found");
    this.leave(target);
    return target;
  }

  /** A member's own mute setting; false if it was so already. */
  setMuted(member: MemberRow, muted: boolean): boolean {
    if (member.muted === muted) return false;
    this.store.setMuted(member.id, muted);
    member.muted = muted;
    this.changed();
    return true;
  }

  /** A member leaves a group: they stay the author of their messages. */
  leave(member: MemberRow): void {
    this.store.markLeft(member.id, nowIso());
    this.state.reload();
    this.changed();
    this.events.left(member);
  }

  /** A direct conversation leaves the member's inbox until its next message. */
  hide(member: MemberRow): void {
    this.store.markHidden(member.id, this.state.lastSeq);
    this.state.reload();
    this.changed();
  }

  private requireGroup(message: string) {
    const meta = this.state.requireMeta();
    if (meta.kind !== "group") throw new ApiError("validation_failed", message);
    return meta;
  }

  /**
   * A member changed their profile: later events and history carry the new one. Changes are
   * numbered by the user's inbox (inbox/profile-sync.ts), and one older than the room has (a push
   * that arrived late) changes nothing; returns whether this one was taken.
   */
  updateProfile(user: User, version: number): boolean {
    if (!this.state.members.has(user.id) || !this.store.updateProfile(user, version)) return false;
    this.state.reload();
    return true;
  }
}
