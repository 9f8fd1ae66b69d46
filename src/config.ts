import { openShards, shardNames } from "./db/shards";
import type { BudgetSettings } from "./durable/inbox/budgets";

/** The limits and settings of [vars] in wrangler.toml, parsed once into numbers. */
export interface Limits {
  tokenTtlSeconds: number;
  pbkdf2Iterations: number;
  maxBodyBytes: number;
  maxMessageChars: number;
  maxGroupSize: number;
  maxTitleChars: number;
  maxNameChars: number;
  maxAvatarUrlChars: number;
  maxFrameBytes: number;
  replayLimit: number;
  /** A replay stops before the message that would take it over this many bytes (at least one). */
  replayMaxBytes: number;
  /** Sockets one user may hold open to one room; a newer one closes the oldest (4429). */
  roomSocketsPerUser: number;
  historyPageMax: number;
  /** Frames (and REST writes) per user per room: a token bucket of this many... */
  messageRatePer10s: number;
  /** Distinct reaction emoji one message may carry. */
  maxReactionsPerMessage: number;
  /** ...refilled over this long (MESSAGE_RATE_WINDOW_SECONDS). */
  messageRateWindowMs: number;
  /** Per-user token buckets in the user's inbox object (src/durable/inbox/budgets.ts). */
  userBudgets: BudgetSettings;
  /** Message tokens a room takes from a user's budget at once, and how long it may use them. */
  budgetLeaseMessages: number;
  /** The most a room asks for at once for a sender who uses leases up (BUDGET_LEASE_MESSAGES_MAX). */
  budgetLeaseMessagesMax: number;
  budgetLeaseMs: number;
  /** Rooms a profile change is passed to per run of the user's inbox alarm (inbox/profile-sync.ts). */
  profileSyncBatch: number;
  typingThrottleMs: number;
  /** Read positions, typing and presence reach the sockets once per this window (signals.ts). */
  receiptWindowMs: number;
  inboxNotifyWindowMs: number;
  /** ...at least this long per active member (INBOX_NOTIFY_MS_PER_MEMBER): big groups notify less often. */
  inboxNotifyMsPerMember: number;
  /** An object sums its counters over this window and writes one data point per kind (METRICS_WINDOW_MS). */
  metricsWindowMs: number;
  /** A notice an inbox did not take is sent again after this long, from the room's alarm. */
  inboxRetryMs: number;
  /** People listed in a conversation of the inbox listing and of inbox events (all are counted). */
  inboxParticipants: number;
  /** Rooms an inbox asks at once while it fills itself for the first time (backfill). */
  inboxBackfillConcurrency: number;
  outboxRetryMs: number;
  outboxFlushMs: number;
  presenceMaxMembers: number;
  restMirrorWaitMs: number;
  userSearchMaxChars: number;
  userSearchPageMax: number;
  /** Message search (GET /api/search): the longest `q`, and the most results one page lists. */
  messageSearchMaxChars: number;
  messageSearchPageMax: number;
  /** The last word of `q` matches as a prefix from this many characters on; 0: never. */
  messageSearchPrefixMinChars: number;
  /** Refresh renews an own token until this long after its sign-in (`auth_time`). */
  sessionMaxSeconds: number;
  externalJwksCacheSeconds: number;
  externalJwksCooldownSeconds: number;
  externalJwksTimeoutMs: number;
  maxExternalIdChars: number;
  /** A socket ticket's lifetime: at most 60 s whatever is configured. */
  wsTicketTtlSeconds: number;
  /** Unused tickets a user may hold at once; minting another drops the oldest. */
  wsTicketsPerUser: number;
  corsMaxAgeSeconds: number;
  pushIntervalSeconds: number;
  pushMaxSubscriptions: number;
  pushEndpointMaxChars: number;
  pushSnippetChars: number;
  pushTtlSeconds: number;
  pushTimeoutMs: number;
  /** Hosts whose push endpoints may be plain http (a local test push service). */
  pushHttpHosts: readonly string[];
  /** HISTORY_SHARDS: the history shards' D1 binding names, in placement order (src/db/shards.ts). */
  historyShards: readonly string[];
  /** The shards new conversations are placed on: HISTORY_SHARDS less HISTORY_SHARDS_CLOSED. */
  openHistoryShards: readonly string[];
  /** A room's copy to its shard: at most this many bytes of bound rows per D1 batch. */
  d1BatchMaxBytes: number;
  d1BatchMaxRows: number;
  /** A group commit stores at most this many bytes of messages per transaction in the room's SQLite. */
  storageBatchMaxBytes: number;
  /** Messages a room keeps in its own log; older history is read from its shard. 0: all of it. */
  roomLogTail: number;
  /** Messages older than this are deleted from the shards by the scheduled job; 0: never. */
  retentionDays: number;
  /** Whether the retention job writes what it deletes to R2 (BUCKET, `archive/`) first. */
  retentionArchive: boolean;
  retentionBatchRows: number;
  retentionMaxBatches: number;
  /** The largest attachment in bytes (413 above, before anything is stored). */
  attachmentMaxBytes: number;
  /** The most attachments one message carries. */
  attachmentsPerMessage: number;
  /** Content types an upload may declare: exact ("application/pdf") or a family ("text/*"). */
  attachmentTypes: readonly string[];
  /** An upload never sent with a message is deleted this long after it finished. */
  attachmentUnattachedTtlSeconds: number;
  /** A signed file link works for between this and twice this long (links are reused within a window). */
  attachmentUrlTtlSeconds: number;
  attachmentNameMaxChars: number;
  /** DELETE /api/me by an account without a password: its token's sign-in at most this old. */
  accountDeleteFreshSeconds: number;
  /** An account's deletion (inbox/erasure.ts): rooms visited at once, per step of its alarm... */
  accountEraseRoomsPerStep: number;
  /** ...each room turning at most this many of the user's messages into tombstones per visit. */
  accountEraseMessagesPerRoom: number;
  /** A step that failed (D1, a room) is tried again after this long. */
  accountEraseRetryMs: number;
}

type Vars = Pick<
  Env,
  | "TOKEN_TTL_SECONDS"
  | "PBKDF2_ITERATIONS"
  | "MAX_BODY_BYTES"
  | "MAX_MESSAGE_CHARS"
  | "MAX_GROUP_SIZE"
  | "MAX_TITLE_CHARS"
  | "MAX_NAME_CHARS"
  | "MAX_AVATAR_URL_CHARS"
  | "MAX_FRAME_BYTES"
  | "REPLAY_LIMIT"
  | "REPLAY_MAX_BYTES"
  | "ROOM_SOCKETS_PER_USER"
  | "HISTORY_PAGE_MAX"
  | "MESSAGE_RATE_PER_10S"
  | "MAX_REACTIONS_PER_MESSAGE"
  | "MESSAGE_RATE_WINDOW_SECONDS"
  | "USER_MESSAGES_PER_WINDOW"
  | "USER_MESSAGE_BYTES_PER_WINDOW"
  | "USER_MESSAGE_WINDOW_SECONDS"
  | "USER_CONVERSATIONS_PER_HOUR"
  | "USER_UPLOAD_BYTES_PER_HOUR"
  | "USER_PROFILE_UPDATES_PER_HOUR"
  | "PROFILE_SYNC_BATCH"
  | "BUDGET_LEASE_MESSAGES"
  | "BUDGET_LEASE_MESSAGES_MAX"
  | "BUDGET_LEASE_SECONDS"
  | "TYPING_THROTTLE_MS"
  | "RECEIPT_WINDOW_MS"
  | "INBOX_NOTIFY_WINDOW_MS"
  | "INBOX_NOTIFY_MS_PER_MEMBER"
  | "METRICS_WINDOW_MS"
  | "INBOX_RETRY_MS"
  | "INBOX_PARTICIPANTS"
  | "INBOX_BACKFILL_CONCURRENCY"
  | "OUTBOX_RETRY_MS"
  | "OUTBOX_FLUSH_MS"
  | "PRESENCE_MAX_MEMBERS"
  | "REST_MIRROR_WAIT_MS"
  | "USER_SEARCH_MAX_CHARS"
  | "USER_SEARCH_PAGE_MAX"
  | "MESSAGE_SEARCH_MAX_CHARS"
  | "MESSAGE_SEARCH_PAGE_MAX"
  | "MESSAGE_SEARCH_PREFIX_MIN_CHARS"
  | "SESSION_MAX_SECONDS"
  | "EXTERNAL_JWKS_CACHE_SECONDS"
  | "EXTERNAL_JWKS_COOLDOWN_SECONDS"
  | "EXTERNAL_JWKS_TIMEOUT_MS"
  | "MAX_EXTERNAL_ID_CHARS"
  | "WS_TICKET_TTL_SECONDS"
  | "WS_TICKETS_PER_USER"
  | "CORS_MAX_AGE_SECONDS"
  | "PUSH_INTERVAL_SECONDS"
  | "PUSH_MAX_SUBSCRIPTIONS"
  | "PUSH_ENDPOINT_MAX_CHARS"
  | "PUSH_SNIPPET_CHARS"
  | "PUSH_TTL_SECONDS"
  | "PUSH_TIMEOUT_MS"
  | "PUSH_HTTP_HOSTS"
  | "HISTORY_SHARDS"
  | "HISTORY_SHARDS_CLOSED"
  | "D1_BATCH_MAX_BYTES"
  | "D1_BATCH_MAX_ROWS"
  | "STORAGE_BATCH_MAX_BYTES"
  | "ROOM_LOG_TAIL"
  | "RETENTION_DAYS"
  | "RETENTION_ARCHIVE"
  | "RETENTION_BATCH_ROWS"
  | "RETENTION_MAX_BATCHES"
  | "ATTACHMENT_MAX_BYTES"
  | "ATTACHMENTS_PER_MESSAGE"
  | "ATTACHMENT_TYPES"
  | "ATTACHMENT_UNATTACHED_TTL_SECONDS"
  | "ATTACHMENT_URL_TTL_SECONDS"
  | "ATTACHMENT_NAME_MAX_CHARS"
  | "ACCOUNT_DELETE_FRESH_SECONDS"
  | "ACCOUNT_ERASE_ROOMS_PER_STEP"
  | "ACCOUNT_ERASE_MESSAGES_PER_ROOM"
  | "ACCOUNT_ERASE_RETRY_MS"
>;

/** A whole-number setting: `fallback` when absent, malformed or below `min`. */
export function int(value: string | undefined, fallback: number, min = 0): number {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

/**
 * D1 and an object's SQLite refuse a string or row over 2 MB (Cloudflare's D1 and Durable Objects
 * limits pages): a batch's bound rows stay well under that, whatever is configured.
 */
const BATCH_BYTES_CEILING = 1_000_000;

const HOUR = 3_600_000;

const cache = new WeakMap<object, Limits>();

export function limitsFrom(env: Vars): Limits {
  const hit = cache.get(env);
  if (hit) return hit;
  const messageWindowMs = int(env.USER_MESSAGE_WINDOW_SECONDS, 60, 1) * 1000;
  const limits: Limits = {
    tokenTtlSeconds: int(env.TOKEN_TTL_SECONDS, 86_400, 1),
    // Workers' WebCrypto refuses PBKDF2 above 100,000 iterations.
    pbkdf2Iterations: Math.min(int(env.PBKDF2_ITERATIONS, 100_000, 1), 100_000),
    maxBodyBytes: int(env.MAX_BODY_BYTES, 65_536, 1),
    maxMessageChars: int(env.MAX_MESSAGE_CHARS, 4000, 1),
    maxGroupSize: int(env.MAX_GROUP_SIZE, 1000, 2),
    maxTitleChars: int(env.MAX_TITLE_CHARS, 200, 1),
    maxNameChars: int(env.MAX_NAME_CHARS, 100, 1),
    maxAvatarUrlChars: int(env.MAX_AVATAR_URL_CHARS, 2048, 1),
    maxFrameBytes: int(env.MAX_FRAME_BYTES, 16_384, 1),
    replayLimit: int(env.REPLAY_LIMIT, 500, 1),
    replayMaxBytes: int(env.REPLAY_MAX_BYTES, 1_048_576, 1),
    roomSocketsPerUser: int(env.ROOM_SOCKETS_PER_USER, 10, 1),
    historyPageMax: int(env.HISTORY_PAGE_MAX, 100, 1),
    messageRatePer10s: int(env.MESSAGE_RATE_PER_10S, 100, 1),
    maxReactionsPerMessage: int(env.MAX_REACTIONS_PER_MESSAGE, 20, 1),
    messageRateWindowMs: int(env.MESSAGE_RATE_WINDOW_SECONDS, 10, 1) * 1000,
    userBudgets: {
      messages: { capacity: int(env.USER_MESSAGES_PER_WINDOW, 300, 1), windowMs: messageWindowMs },
      messageBytes: {
        capacity: int(env.USER_MESSAGE_BYTES_PER_WINDOW, 2_097_152, 1),
        windowMs: messageWindowMs,
      },
      conversations: { capacity: int(env.USER_CONVERSATIONS_PER_HOUR, 100, 1), windowMs: HOUR },
      uploadBytes: { capacity: int(env.USER_UPLOAD_BYTES_PER_HOUR, 268_435_456, 1), windowMs: HOUR },
      profileUpdates: { capacity: int(env.USER_PROFILE_UPDATES_PER_HOUR, 20, 1), windowMs: HOUR },
    },
    budgetLeaseMessages: int(env.BUDGET_LEASE_MESSAGES, 10, 1),
    budgetLeaseMessagesMax: int(env.BUDGET_LEASE_MESSAGES_MAX, 160, 1),
    budgetLeaseMs: int(env.BUDGET_LEASE_SECONDS, 10, 1) * 1000,
    profileSyncBatch: int(env.PROFILE_SYNC_BATCH, 50, 1),
    typingThrottleMs: int(env.TYPING_THROTTLE_MS, 2000),
    receiptWindowMs: int(env.RECEIPT_WINDOW_MS, 250),
    inboxNotifyWindowMs: int(env.INBOX_NOTIFY_WINDOW_MS, 250),
    inboxNotifyMsPerMember: int(env.INBOX_NOTIFY_MS_PER_MEMBER, 10),
    metricsWindowMs: int(env.METRICS_WINDOW_MS, 1000),
    inboxRetryMs: int(env.INBOX_RETRY_MS, 2000, 1),
    inboxParticipants: int(env.INBOX_PARTICIPANTS, 10, 1),
    inboxBackfillConcurrency: int(env.INBOX_BACKFILL_CONCURRENCY, 8, 1),
    outboxRetryMs: int(env.OUTBOX_RETRY_MS, 2000, 1),
    outboxFlushMs: int(env.OUTBOX_FLUSH_MS, 100),
    presenceMaxMembers: int(env.PRESENCE_MAX_MEMBERS, 100),
    restMirrorWaitMs: int(env.REST_MIRROR_WAIT_MS, 2000),
    userSearchMaxChars: int(env.USER_SEARCH_MAX_CHARS, 100, 1),
    userSearchPageMax: int(env.USER_SEARCH_PAGE_MAX, 50, 1),
    messageSearchMaxChars: int(env.MESSAGE_SEARCH_MAX_CHARS, 200, 1),
    messageSearchPageMax: int(env.MESSAGE_SEARCH_PAGE_MAX, 50, 1),
    messageSearchPrefixMinChars: int(env.MESSAGE_SEARCH_PREFIX_MIN_CHARS, 3),
    sessionMaxSeconds: int(env.SESSION_MAX_SECONDS, 2_592_000, 1),
    externalJwksCacheSeconds: int(env.EXTERNAL_JWKS_CACHE_SECONDS, 600),
    externalJwksCooldownSeconds: int(env.EXTERNAL_JWKS_COOLDOWN_SECONDS, 30),
    externalJwksTimeoutMs: int(env.EXTERNAL_JWKS_TIMEOUT_MS, 5000, 1),
    maxExternalIdChars: int(env.MAX_EXTERNAL_ID_CHARS, 255, 1),
    // API.md: a ticket is valid for at most 60 s.
    wsTicketTtlSeconds: Math.min(int(env.WS_TICKET_TTL_SECONDS, 30, 1), 60),
    wsTicketsPerUser: int(env.WS_TICKETS_PER_USER, 20, 1),
    corsMaxAgeSeconds: int(env.CORS_MAX_AGE_SECONDS, 600),
    pushIntervalSeconds: int(env.PUSH_INTERVAL_SECONDS, 60),
    pushMaxSubscriptions: int(env.PUSH_MAX_SUBSCRIPTIONS, 10, 1),
    pushEndpointMaxChars: int(env.PUSH_ENDPOINT_MAX_CHARS, 1024, 1),
    pushSnippetChars: int(env.PUSH_SNIPPET_CHARS, 120, 1),
    pushTtlSeconds: int(env.PUSH_TTL_SECONDS, 86_400),
    pushTimeoutMs: int(env.PUSH_TIMEOUT_MS, 10_000, 1),
    pushHttpHosts: (env.PUSH_HTTP_HOSTS ?? "")
      .split(",")
      .map((host) => host.trim().toLowerCase())
      .filter(Boolean),
    historyShards: shardNames(env.HISTORY_SHARDS),
    openHistoryShards: openShards(shardNames(env.HISTORY_SHARDS), listSetting(env.HISTORY_SHARDS_CLOSED)),
    d1BatchMaxBytes: Math.min(int(env.D1_BATCH_MAX_BYTES, 262_144, 1024), BATCH_BYTES_CEILING),
    d1BatchMaxRows: int(env.D1_BATCH_MAX_ROWS, 500, 1),
    storageBatchMaxBytes: Math.min(int(env.STORAGE_BATCH_MAX_BYTES, 262_144, 1024), BATCH_BYTES_CEILING),
    roomLogTail: int(env.ROOM_LOG_TAIL, 0),
    retentionDays: int(env.RETENTION_DAYS, 0),
    retentionArchive: (env.RETENTION_ARCHIVE ?? "").trim().toLowerCase() === "on",
    retentionBatchRows: int(env.RETENTION_BATCH_ROWS, 200, 1),
    retentionMaxBatches: int(env.RETENTION_MAX_BATCHES, 50, 1),
    attachmentMaxBytes: int(env.ATTACHMENT_MAX_BYTES, 10_485_760, 1),
    attachmentsPerMessage: int(env.ATTACHMENTS_PER_MESSAGE, 10, 1),
    attachmentTypes: listSetting(env.ATTACHMENT_TYPES?.toLowerCase()),
    attachmentUnattachedTtlSeconds: int(env.ATTACHMENT_UNATTACHED_TTL_SECONDS, 86_400),
    attachmentUrlTtlSeconds: int(env.ATTACHMENT_URL_TTL_SECONDS, 3600, 1),
    attachmentNameMaxChars: int(env.ATTACHMENT_NAME_MAX_CHARS, 200, 1),
    accountDeleteFreshSeconds: int(env.ACCOUNT_DELETE_FRESH_SECONDS, 300, 1),
    accountEraseRoomsPerStep: int(env.ACCOUNT_ERASE_ROOMS_PER_STEP, 10, 1),
    accountEraseMessagesPerRoom: int(env.ACCOUNT_ERASE_MESSAGES_PER_ROOM, 200, 1),
    accountEraseRetryMs: int(env.ACCOUNT_ERASE_RETRY_MS, 5000, 1),
  };
  cache.set(env, limits);
  return limits;
}

/** A comma- or whitespace-separated list setting, empty entries dropped. */
export function listSetting(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}

const origins = new Map<string, ReadonlySet<string>>();

/** scheme://host[:port], the host in ASCII (IDNs in punycode) or a bracketed IPv6 address. */
const ORIGIN = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/**
 * ALLOWED_ORIGINS as exact origins ("https://app.example.com", "http://localhost:3000"): the
 * browser origins that may open sockets, call the REST API (CORS) and frame the page. An entry
 * that is not exactly a lower-case http(s) origin (a path, a wildcard, a quote, a semicolon) is
 * ignored: these values go into a Content-Security-Policy header, where anything else could add
 * directives.
 */
export function allowedOrigins(env: Pick<Env, "ALLOWED_ORIGINS">): ReadonlySet<string> {
  const raw = env.ALLOWED_ORIGINS ?? "";
  let set = origins.get(raw);
  if (set) return set;
  const valid = new Set<string>();
  for (const entry of listSetting(raw)) {
    // The URL parser accepts characters in hosts (";", "'") that would end a CSP directive.
    if (!ORIGIN.test(entry)) continue;
    try {
      if (new URL(entry).origin === entry) valid.add(entry);
    } catch {
      // not a URL: ignored
    }
  }
  set = valid;
  origins.set(raw, set);
  return set;
}
