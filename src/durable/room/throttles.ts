import { ApiError } from "../../errors";

/**
 * The room's per-user throttles. Ephemeral by design: losing them on eviction only resets a rate
 * window or a typing throttle. The clock is passed in so the windows can be tested without waiting.
 */

export type Clock = () => number;

const RATE_WINDOW_MS = 10_000;

/** Writes (sends, edits, deletes) per user in a fixed 10-second window: MESSAGE_RATE_PER_10S. */
export class RateWindow {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** Counts one write, or throws `rate_limited` with the seconds until the window ends. */
  take(userId: string): void {
    const now = this.now();
    const entry = this.windows.get(userId);
    if (!entry || now - entry.start >= RATE_WINDOW_MS) {
      this.windows.set(userId, { start: now, count: 1 });
      return;
    }
    if (entry.count >= this.limit) {
      throw new ApiError("rate_limited", "Too many messages; slow down", {
        retryAfterSeconds: Math.max(1, Math.ceil((entry.start + RATE_WINDOW_MS - now) / 1000)),
      });
    }
    entry.count++;
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
