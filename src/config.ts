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
  historyPageMax: number;
  messageRatePer10s: number;
  typingThrottleMs: number;
  inboxNotifyWindowMs: number;
  outboxRetryMs: number;
  outboxFlushMs: number;
  presenceMaxMembers: number;
  restMirrorWaitMs: number;
  userSearchMaxChars: number;
  userSearchPageMax: number;
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
  | "HISTORY_PAGE_MAX"
  | "MESSAGE_RATE_PER_10S"
  | "TYPING_THROTTLE_MS"
  | "INBOX_NOTIFY_WINDOW_MS"
  | "OUTBOX_RETRY_MS"
  | "OUTBOX_FLUSH_MS"
  | "PRESENCE_MAX_MEMBERS"
  | "REST_MIRROR_WAIT_MS"
  | "USER_SEARCH_MAX_CHARS"
  | "USER_SEARCH_PAGE_MAX"
>;

function int(value: string | undefined, fallback: number, min = 0): number {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

const cache = new WeakMap<object, Limits>();

export function limitsFrom(env: Vars): Limits {
  const hit = cache.get(env);
  if (hit) return hit;
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
    historyPageMax: int(env.HISTORY_PAGE_MAX, 100, 1),
    messageRatePer10s: int(env.MESSAGE_RATE_PER_10S, 100, 1),
    typingThrottleMs: int(env.TYPING_THROTTLE_MS, 2000),
    inboxNotifyWindowMs: int(env.INBOX_NOTIFY_WINDOW_MS, 250),
    outboxRetryMs: int(env.OUTBOX_RETRY_MS, 2000, 1),
    outboxFlushMs: int(env.OUTBOX_FLUSH_MS, 100),
    presenceMaxMembers: int(env.PRESENCE_MAX_MEMBERS, 100),
    restMirrorWaitMs: int(env.REST_MIRROR_WAIT_MS, 2000),
    userSearchMaxChars: int(env.USER_SEARCH_MAX_CHARS, 100, 1),
    userSearchPageMax: int(env.USER_SEARCH_PAGE_MAX, 50, 1),
  };
  cache.set(env, limits);
  return limits;
}
