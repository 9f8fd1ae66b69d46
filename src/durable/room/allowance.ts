import { ApiError } from "../../errors";
import { describeError, log } from "../../log";
import { utf8Length } from "../../utf8";
import type { LeaseGrant, LeaseRequest } from "../inbox/budgets";

/** Asks a user's inbox object for a batch of their message tokens (UserInbox.leaseMessages). */
export type Leaser = (userId: string, request: LeaseRequest) => Promise<LeaseGrant>;

export interface AllowanceSettings {
  /** Message tokens asked for at once (BUDGET_LEASE_MESSAGES). */
  messages: number;
  /** Bytes asked for at once: the messages' share of the bytes budget. */
  bytes: number;
  /** How long a lease may be used (BUDGET_LEASE_SECONDS). */
  ms: number;
}

interface Lease {
  messages: number;
  bytes: number;
  expiresAt: number;
}

/**
 * The room's side of the per-user budgets (inbox/budgets.ts). Asking the user's object for every
 * message would put an RPC on the hot path; instead the room takes a lease, a batch of tokens,
 * spends it locally and asks again when it runs out. A lease expires after a short time, so tokens
 * a room holds cannot pile up across many rooms and be spent later in one burst; what a room does
 * not use is lost, which only errs on the strict side.
 *
 * A user's sends stay in order: while a lease is being asked for, their later frames wait behind it.
 */
export class Allowances {
  private readonly leases = new Map<string, Lease>();
  private readonly waiting = new Map<string, Promise<void>>();

  constructor(
    private readonly leaser: Leaser,
    private readonly settings: AllowanceSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Spends one message (its body's trimmed UTF-8 bytes) from the user's budget: null when paid from
   * the lease at hand, otherwise a promise that settles once paid, or rejects with 429 `rate_limited`.
   */
  spend(userId: string, body: string): Promise<void> | null {
    const bytes = utf8Length(body.trim());
    const before = this.waiting.get(userId);
    if (!before && this.takeLocal(userId, bytes)) return null;
    const turn = (before ?? Promise.resolve()).then(async () => {
      try {
        if (!this.takeLocal(userId, bytes)) await this.refill(userId, bytes);
      } finally {
        // Before the spender resumes: once paid, the user's next message is paid at once again.
        if (this.waiting.get(userId) === settled) this.waiting.delete(userId);
      }
    });
    const settled = turn.catch(() => undefined);
    this.waiting.set(userId, settled);
    return turn;
  }

  private takeLocal(userId: string, bytes: number): boolean {
    const lease = this.leases.get(userId);
    if (!lease) return false;
    if (lease.expiresAt <= this.now()) {
      this.leases.delete(userId);
      return false;
    }
    if (lease.messages < 1 || lease.bytes < bytes) return false;
    lease.messages -= 1;
    lease.bytes -= bytes;
    return true;
  }

  private async refill(userId: string, bytes: number): Promise<void> {
    let grant: LeaseGrant;
    try {
      grant = await this.leaser(userId, {
        messages: this.settings.messages,
        bytes: this.settings.bytes,
        needBytes: bytes,
      });
    } catch (err) {
      // The user's object out of reach must not stop the conversation: the room's own per-user
      // rate still holds. Logged, and the message goes on.
      log("warn", "budget_lease_failed", { userId, ...describeError(err) });
      return;
    }
    if (!grant.ok) {
      throw new ApiError("rate_limited", "Too many messages; slow down", {
        retryAfterSeconds: grant.retryAfterSeconds,
      });
    }
    // What is left of an unexpired lease (messages without enough bytes) is added, not lost.
    const now = this.now();
    const old = this.leases.get(userId);
    const left = old && old.expiresAt > now ? old : { messages: 0, bytes: 0 };
    this.leases.set(userId, {
      messages: left.messages + grant.messages - 1,
      bytes: Math.max(0, left.bytes + grant.bytes - bytes),
      expiresAt: now + this.settings.ms,
    });
  }
}
