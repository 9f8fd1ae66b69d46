import { ApiError } from "../../errors";

/**
 * The room's per-user throttles. Ephemeral by design: losing them on eviction only resets a rate
 * window or a typing throttle. The clock is passed in so the windows can be tested without waiting.
 */

export type Clock = () => number;

/**
 * Frames and writes per user in this room: a token bucket of MESSAGE_RATE_PER_10S that refills
 * evenly over MESSAGE_RATE_WINDOW_SECONDS, so no window ever sees two limits' worth (a fixed window
 * allows a full one just before its boundary and another just after). Every frame spends from it,
 * accepted or refused: a frame that fails (an unknown id, a malformed frame) costs work too.
 */
export class RateWindow {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 10_000,
    private readonly now: Clock = Date.now,
  ) {}

  /** Counts one write, or throws `rate_limited` with the seconds until a token is back. */
  take(userId: string): void {
    const bucket = this.level(userId);
    if (bucket.tokens < 1) {
      throw new ApiError("rate_limited", "Too many messages; slow down", {
        retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.tokens) * this.windowMs) / this.limit / 1000)),
      });
    }
    bucket.tokens -= 1;
  }

  /** Spends one token without refusing anything: what a frame that failed costs (never below empty). */
  charge(userId: string): void {
    const bucket = this.level(userId);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  private level(userId: string): { tokens: number; at: number } {
    const now = this.now();
    let bucket = this.buckets.get(userId);
    if (!bucket) {
      bucket = { tokens: this.limit, at: now };
      this.buckets.set(userId, bucket);
      return bucket;
    }
    const refill = ((now - bucket.at) * this.limit) / this.windowMs;
    bucket.tokens = Math.min(this.limit, bucket.tokens + Math.max(0, refill));
    bucket.at = now;
    return bucket;
  }
}

/**
 * Typing events go to every socket, so a user may start typing at most once per TYPING_THROTTLE_MS,
 * and a stop is told only after a start: toggling cannot make the room broadcast faster.
 */
export class TypingThrottle {
  /** When each user last started typing, and whether they still are. */
  private readonly users = new Map<string, { startedAt: number; typing: boolean }>();

  constructor(
    private readonly throttleMs: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** Whether this typing change is to be told to the others. */
  allow(userId: string, active: boolean): boolean {
    const user = this.users.get(userId);
    if (!active) {
      if (!user?.typing) return false;
      user.typing = false;
      return true;
    }
    const now = this.now();
    if (user && now - user.startedAt < this.throttleMs) return false;
    this.users.set(userId, { startedAt: now, typing: true });
    return true;
  }
}
