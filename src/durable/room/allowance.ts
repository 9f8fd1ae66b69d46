import { ApiError } from "../../errors";
import { describeError, log } from "../../log";
import { utf8Length } from "../../utf8";
import type { LeaseGrant, LeaseRequest } from "../inbox/budgets";

/** Asks a user's inbox object for a batch of their message tokens (UserInbox.leaseMessages). */
export type Leaser = (userId: string, request: LeaseRequest) => Promise<LeaseGrant>;

export interface AllowanceSettings {
  /** Message tokens asked for at once at first (BUDGET_LEASE_MESSAGES). */
  messages: number;
  /** The most asked for at once by a room whose sender uses leases up (BUDGET_LEASE_MESSAGES_MAX). */
  maxMessages?: number;
  /** Bytes asked for with `messages`: the messages' share of the bytes budget (scaled with the ask). */
  bytes: number;
  /** How long a lease may be used (BUDGET_LEASE_SECONDS). */
  ms: number;
}

interface Lease {
  messages: number;
  bytes: number;
  expiresAt: number;
  /** Messages asked for by the last request: the next one asks for twice as many, up to the most. */
  asked: number;
}

/**
 * The room's side of the per-user budgets (inbox/budgets.ts). Asking the user's object for every
 * message would put an RPC on the hot path; instead the room takes a lease, a batch of tokens,
 * spends it locally and asks again before it runs out. A lease expires after a short time, so
 * tokens a room holds cannot pile up across many rooms and be spent later in one burst; what a room
 * does not use is lost, which only errs on the strict side.
 *
 * A sender who uses a lease up before it expires is sending fast: the next ask is for twice as many
 * tokens, up to `maxMessages`, and from then on the room asks for the next lease in the background
 * once half of one is spent (their sends go on paying from what is left, so a busy sender does not
 * wait for the user's object and group commits stay whole). A lease that expires takes the ask back
 * to `messages`.
 *
 * A user's sends stay in order: while a lease is being waited for, their later frames wait behind it.
 */
export class Allowances {
  private readonly leases = new Map<string, Lease>();
  private readonly waiting = new Map<string, Promise<void>>();
  private readonly prefetching = new Map<string, Promise<void>>();
  private readonly maxMessages: number;

  constructor(
    private readonly leaser: Leaser,
    private readonly settings: AllowanceSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.maxMessages = Math.max(settings.messages, settings.maxMessages ?? settings.messages);
  }

  /**
   * Spends one message (its body's trimmed UTF-8 bytes) from the user's budget: null when paid from
   * the lease at hand, otherwise a promise that settles once paid, or rejects with 429 `rate_limited`.
   */
  spend(userId: string, body: string): Promise<void> | null {
    const bytes = utf8Length(body.trim());
    const before = this.waiting.get(userId);
    if (!before && this.takeLocal(userId, bytes)) {
      this.prefetchIfLow(userId);
      return null;
    }
    const turn = (before ?? Promise.resolve()).then(async () => {
      try {
        // A lease already on its way may be enough: asking again would take tokens twice.
        const inFlight = this.prefetching.get(userId);
        if (inFlight) await inFlight;
        if (!this.takeLocal(userId, bytes)) await this.refill(userId, bytes, true);
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

  /**
   * Half of the last ask spent while the lease is good: the next one is asked for now. Only for a
   * sender who has used up a whole lease already (their ask has grown): a background ask takes
   * tokens that are lost if the user moves on, so people who send now and then never pay for it.
   */
  private prefetchIfLow(userId: string): void {
    const lease = this.leases.get(userId);
    if (!lease || lease.asked <= this.settings.messages || lease.messages * 2 > lease.asked) return;
    if (this.prefetching.has(userId)) return;
    const done = this.refill(userId, 0, false).finally(() => this.prefetching.delete(userId));
    this.prefetching.set(userId, done);
  }

  /** Messages to ask for: twice the last ask while a lease is in use, the first size otherwise. */
  private nextAsk(userId: string): number {
    const lease = this.leases.get(userId);
    if (!lease || lease.expiresAt <= this.now()) return this.settings.messages;
    return Math.min(this.maxMessages, lease.asked * 2);
  }

  /**
   * Asks the user's object for a lease. For a message waiting for it (`forWaiter`, `needBytes` its
   * bytes) the lease pays that message, and a refusal is that message's 429; a background ask pays
   * nothing and leaves the refusal to the next message that finds the lease spent.
   */
  private async refill(userId: string, needBytes: number, forWaiter: boolean): Promise<void> {
    const asked = this.nextAsk(userId);
    let grant: LeaseGrant;
    try {
      grant = await this.leaser(userId, {
        messages: asked,
        bytes: Math.ceil((this.settings.bytes * asked) / this.settings.messages),
        needBytes,
      });
    } catch (err) {
      // The user's object out of reach must not stop the conversation: the room's own per-user
      // rate still holds. Logged, and the message goes on.
      log("warn", "budget_lease_failed", { userId, ...describeError(err) });
      return;
    }
    if (!grant.ok) {
      if (!forWaiter) return;
      throw new ApiError("rate_limited", "Too many messages; slow down", {
        retryAfterSeconds: grant.retryAfterSeconds,
      });
    }
    // What is left of an unexpired lease is added, not lost; the waiting message is paid from it.
    const now = this.now();
    const old = this.leases.get(userId);
    const left = old && old.expiresAt > now ? old : { messages: 0, bytes: 0 };
    const paid = forWaiter ? 1 : 0;
    this.leases.set(userId, {
      messages: left.messages + grant.messages - paid,
      bytes: Math.max(0, left.bytes + grant.bytes - needBytes),
      expiresAt: now + this.settings.ms,
      asked,
    });
  }
}
