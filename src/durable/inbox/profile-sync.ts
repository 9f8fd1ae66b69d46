import { openDb } from "../../db/client";
import { activeConversationIds } from "../../db/conversations";
import { findUserById, toUser } from "../../db/users";
import { describeError, log } from "../../log";
import type { User } from "../../protocol/models";
import type { InboxAlarm } from "./alarm";

/** Where a profile change comes from and goes to (the directory and the rooms; tests may differ). */
export interface ProfileSource {
  /** The user's profile as the directory has it now; null once there is no such user. */
  profile(): Promise<User | null>;
  /** The user's current conversations with an id after `after`, in id order, at most `limit`. */
  rooms(after: string, limit: number): Promise<string[]>;
  /** Hands a room the profile numbered `version` (the room keeps the newest it was given). */
  push(conversationId: string, user: User, version: number): Promise<void>;
}

export interface ProfileSyncSettings {
  /** PROFILE_SYNC_BATCH: rooms told per run of the alarm. */
  batch: number;
  /** INBOX_RETRY_MS: how long after a failed step (the directory, a room) the alarm tries again. */
  retryMs: number;
}

/** Passes over the rooms that refused a profile before they are left to the next change. */
const MAX_ROOM_RETRIES = 5;

/** A change is waiting to be read from the directory (set by every change, cleared when read). */
const DIRTY = "profile-sync:dirty";
/** The last version handed out: versions only grow, even across a reset of the job. */
const VERSION = "profile-sync:version";
/** The walk under way: the profile, its version, and the last room told (rooms go in id order). */
const JOB = "profile-sync:job";

interface Job {
  user: User;
  version: number;
  /** The last room told while walking the directory's list; null once the list is done. */
  cursor: string | null;
  /** Rooms that refused this profile in the walk or pass under way (a room failing, restarting). */
  failed?: string[];
  /** Rooms still to try in the retry pass under way. */
  pending?: string[];
  /** Retry passes started so far. */
  retries?: number;
}

/**
 * A user's profile changes reach their rooms from here, the user's inbox, in bounded batches: a
 * change (PATCH /api/me, a provider's claims, the server API) costs its request one call to this
 * object, and the inbox's alarm walks the user's conversations PROFILE_SYNC_BATCH rooms per run,
 * however many there are.
 *
 * Ordering: each walk starts by reading the profile from the directory and numbering it above every
 * number before; rooms keep the highest number they were given. A profile read later is at least as
 * new, so whatever order pushes reach a room in (two changes racing, a slow call, a retried walk),
 * the room ends with the newest. A change during a walk starts the walk over with the newer profile
 * (changes coalesce: ten quick edits cost one walk, not ten).
 */
export class ProfileSync {
  constructor(
    private readonly kv: SyncKvStorage,
    private readonly source: ProfileSource,
    private readonly alarm: InboxAlarm,
    private readonly settings: ProfileSyncSettings,
    private readonly ownerId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The profile changed in the directory: the alarm passes it on. */
  async changed(): Promise<void> {
    this.kv.put(DIRTY, true);
    await this.alarm.request(this.now());
  }

  /** Drops a change not yet passed on and the walk under way (the account was deleted). */
  stop(): void {
    this.kv.delete(DIRTY);
    this.kv.delete(JOB);
  }

  /** The alarm's part: one batch of rooms, then the alarm again while rooms are left. */
  async run(): Promise<void> {
    if (this.kv.get(DIRTY) === true && !(await this.start())) return;
    const job = this.kv.get<Job>(JOB);
    if (!job) return;
    const { cursor } = job;
    const walking = cursor !== null;
    let ids: string[];
    let pending = job.pending ?? [];
    if (walking) {
      try {
        ids = await this.source.rooms(cursor, this.settings.batch);
      } catch (err) {
        await this.retry("rooms", err);
        return;
      }
    } else {
      ids = pending.slice(0, this.settings.batch);
      pending = pending.slice(ids.length);
    }
    const results = await Promise.allSettled(ids.map((id) => this.source.push(id, job.user, job.version)));
    const refused = ids.filter((_, i) => results[i]?.status === "rejected");
    if (refused.length > 0) {
      const first = results.find((r) => r.status === "rejected");
      log("warn", "profile_sync_failed", {
        userId: this.ownerId,
        rooms: refused.length,
        retries: job.retries ?? 0,
        ...describeError(first?.status === "rejected" ? first.reason : undefined),
      });
    }
    // A newer change arrived meanwhile: the next run starts over with it (every room hears it).
    if (this.kv.get(DIRTY) === true) {
      await this.alarm.request(this.now());
      return;
    }
    const failed = [...(job.failed ?? []), ...refused];
    const more = walking ? ids.length === this.settings.batch : pending.length > 0;
    if (more) {
      const next = walking ? (ids.at(-1) ?? cursor) : null;
      this.kv.put(JOB, { ...job, cursor: next, failed, pending } satisfies Job);
      await this.alarm.request(this.now());
      return;
    }
    // The walk (or a retry pass) is done. Rooms that refused are tried again after a pause, a few
    // passes at most: one that still refuses keeps the older profile until the next change.
    const retries = (job.retries ?? 0) + 1;
    if (failed.length === 0 || retries > MAX_ROOM_RETRIES) {
      if (failed.length > 0)
        log("warn", "profile_sync_abandoned", { userId: this.ownerId, rooms: failed.length });
      this.kv.delete(JOB);
      return;
    }
    this.kv.put(JOB, { ...job, cursor: null, failed: [], pending: failed, retries } satisfies Job);
    await this.alarm.request(this.now() + this.settings.retryMs);
  }

  /** Reads the profile and starts a walk with it; false when there is nothing to walk now. */
  private async start(): Promise<boolean> {
    // Cleared before the read: a change made while it is under way sets it again and is not lost.
    this.kv.delete(DIRTY);
    let user: User | null;
    try {
      user = await this.source.profile();
    } catch (err) {
      this.kv.put(DIRTY, true);
      await this.retry("profile", err);
      return false;
    }
    if (!user) {
      this.kv.delete(JOB);
      return false;
    }
    // Above every number before, and above any an earlier incarnation of this object gave out.
    const version = Math.max((this.kv.get<number>(VERSION) ?? 0) + 1, this.now());
    this.kv.put(VERSION, version);
    this.kv.put(JOB, { user, version, cursor: "" } satisfies Job);
    return true;
  }

  private async retry(step: string, err: unknown): Promise<void> {
    log("warn", "profile_sync_retry", { userId: this.ownerId, step, ...describeError(err) });
    await this.alarm.request(this.now() + this.settings.retryMs);
  }
}

/** The directory (DB) and the rooms, as a user's profile changes reach them. */
export function directoryProfiles(env: Env, userId: string): ProfileSource {
  return {
    async profile() {
      const row = await findUserById(openDb(env.DB), userId);
      return row ? toUser(row) : null;
    },
    rooms: (after, limit) => activeConversationIds(openDb(env.DB), userId, limit, after),
    push: (conversationId, user, version) =>
      env.CONVERSATION_ROOM.getByName(conversationId).updateProfile(user, version),
  };
}
