/**
 * A user's budgets: token buckets in the user's own inbox object, so they hold across every room
 * and device of the user and survive eviction (they are rows of the object's SQLite, not memory).
 *
 * A bucket holds at most `capacity` tokens and refills continuously at capacity per window: after
 * a full burst the next token comes back after window / capacity, never all at once at a window's
 * boundary, so no interval of one window ever sees more than one capacity plus that interval's
 * refill (a fixed window allows two capacities across its boundary). Buckets refill lazily when
 * read; nothing runs on a timer, so budgets need no clock on the inbox's alarm.
 */

export type BudgetKind = "messages" | "messageBytes" | "conversations" | "uploadBytes" | "profileUpdates";

export interface BucketSetting {
  capacity: number;
  windowMs: number;
}

export type BudgetSettings = Record<BudgetKind, BucketSetting>;

/** What a room asks for: a batch of message tokens (and bytes), at least what one message needs. */
export interface LeaseRequest {
  messages: number;
  bytes: number;
  /** The bytes of the message waiting for this lease: less than that is no lease. */
  needBytes: number;
}

export type LeaseGrant =
  | { ok: true; messages: number; bytes: number }
  | { ok: false; retryAfterSeconds: number };

export type SpendResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class Budgets {
  constructor(
    private readonly sql: SqlStorage,
    private readonly settings: BudgetSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `amount` from one bucket, or nothing and how long until it would be there. */
  spend(kind: BudgetKind, amount: number): SpendResult {
    const now = this.now();
    const bucket = this.read(kind, now);
    const need = this.clampNeed(kind, amount);
    if (bucket.tokens < need) return { ok: false, retryAfterSeconds: this.waitSeconds(kind, bucket, need) };
    this.write(kind, { tokens: bucket.tokens - need, at: now });
    return { ok: true };
  }

  /** Gives back what was taken for something that did not happen (a conversation that existed). */
  refund(kind: BudgetKind, amount: number): void {
    const now = this.now();
    const bucket = this.read(kind, now);
    this.write(kind, {
      tokens: Math.min(this.settings[kind].capacity, bucket.tokens + amount),
      at: now,
    });
  }

  /**
   * A room's allowance: up to the tokens asked for from both message buckets, at least one message
   * and `needBytes`, or nothing and how long until that much is there. Taken at once from the
   * buckets (what the room does not use is not given back: the lease is short and small).
   */
  lease(request: LeaseRequest): LeaseGrant {
    const now = this.now();
    const messages = this.read("messages", now);
    const bytes = this.read("messageBytes", now);
    const needBytes = this.clampNeed("messageBytes", request.needBytes);
    if (messages.tokens < 1 || bytes.tokens < needBytes) {
      return {
        ok: false,
        retryAfterSeconds: Math.max(
          this.waitSeconds("messages", messages, 1),
          this.waitSeconds("messageBytes", bytes, needBytes),
        ),
      };
    }
    const grantMessages = Math.max(1, Math.min(Math.floor(messages.tokens), Math.floor(request.messages)));
    const grantBytes = Math.min(bytes.tokens, Math.max(needBytes, request.bytes));
    this.write("messages", { tokens: messages.tokens - grantMessages, at: now });
    this.write("messageBytes", { tokens: bytes.tokens - grantBytes, at: now });
    return { ok: true, messages: grantMessages, bytes: Math.floor(grantBytes) };
  }

  /** The tokens in a bucket now (a bucket never written is full). */
  level(kind: BudgetKind): number {
    return this.read(kind, this.now()).tokens;
  }

  /** More than a full bucket can never be there: what needs more waits for a full one. */
  private clampNeed(kind: BudgetKind, amount: number): number {
    return Math.min(Math.max(0, amount), this.settings[kind].capacity);
  }

  private waitSeconds(kind: BudgetKind, bucket: Bucket, need: number): number {
    const { capacity, windowMs } = this.settings[kind];
    const missing = need - bucket.tokens;
    if (missing <= 0) return 0;
    return Math.max(1, Math.ceil((missing * windowMs) / capacity / 1000));
  }

  private read(kind: BudgetKind, now: number): Bucket {
    const { capacity, windowMs } = this.settings[kind];
    const row = this.sql.exec("SELECT tokens, updated_at FROM budgets WHERE kind = ?", kind).toArray()[0];
    if (!row) return { tokens: capacity, at: now };
    const tokens = Number(row.tokens);
    const elapsed = Math.max(0, now - Number(row.updated_at));
    return { tokens: Math.min(capacity, tokens + (elapsed * capacity) / windowMs), at: now };
  }

  private write(kind: BudgetKind, bucket: Bucket): void {
    this.sql.exec(
      `INSERT INTO budgets (kind, tokens, updated_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (kind) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
      kind,
      bucket.tokens,
      bucket.at,
    );
  }
}
