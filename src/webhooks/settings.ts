import { int, listSetting } from "../config";

/**
 * The WEBHOOK_* settings ([vars] in wrangler.toml, like every setting of src/config.ts, and the
 * WEBHOOK_SECRET secret), read by the rooms' webhook outboxes and the queue consumer.
 */

/** Webhooks (README, "Embed it in your app"): where events go and how delivery retries. */
export interface WebhookSettings {
  /** WEBHOOK_URLS: every endpoint receives every event; empty (or no WEBHOOK_SECRET): webhooks are off. */
  urls: readonly string[];
  /** WEBHOOK_TIMEOUT_MS: the longest wait for one endpoint's answer. */
  timeoutMs: number;
  /** A failed batch is retried after base·2^(attempt−1) seconds, at most the max. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** WEBHOOK_REDELIVER_SECONDS: a room re-enqueues a batch nobody reported on after this long. */
  redeliverMs: number;
  /** WEBHOOK_BATCH_EVENTS: events per queue message (delivered one POST each, in order). */
  batchEvents: number;
  /** WEBHOOK_MAX_BACKLOG: events a room keeps for one endpoint; older ones are dropped (logged). */
  maxBacklog: number;
  /** The queue whose messages exhausted their retries (wrangler.toml's dead_letter_queue). */
  deadLetterQueue: string;
}

type WebhookVars = Pick<
  Env,
  | "WEBHOOK_URLS"
  | "WEBHOOK_TIMEOUT_MS"
  | "WEBHOOK_RETRY_BASE_SECONDS"
  | "WEBHOOK_RETRY_MAX_SECONDS"
  | "WEBHOOK_REDELIVER_SECONDS"
  | "WEBHOOK_BATCH_EVENTS"
  | "WEBHOOK_MAX_BACKLOG"
  | "WEBHOOK_DEAD_LETTER_QUEUE"
  | "WEBHOOK_SECRET"
>;

const webhooks = new WeakMap<object, WebhookSettings>();
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * An endpoint URL as the consumer will POST to it: https, or http on this machine only (local
 * development and the tests' receiver); no credentials in it. Anything else is null.
 */
function webhookUrl(entry: string): string | null {
  try {
    const url = new URL(entry);
    const local = LOCAL_HOSTS.has(url.hostname);
    if (url.protocol !== "https:" && !(local && url.protocol === "http:")) return null;
    if (url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}

/**
 * WEBHOOK_* as settings. An endpoint that is not a usable URL is left out rather than thrown: these
 * settings are read on the room's send path, which a webhook misconfiguration must never stop.
 */
export function webhookSettingsFrom(env: WebhookVars): WebhookSettings {
  const hit = webhooks.get(env);
  if (hit) return hit;
  // WEBHOOK_SECRET is an optional secret: without one nothing could be signed, so nothing is recorded.
  const signed = listSetting(env.WEBHOOK_SECRET).length > 0;
  const urls = signed
    ? [...new Set(listSetting(env.WEBHOOK_URLS).flatMap((entry) => webhookUrl(entry) ?? []))]
    : [];
  const settings: WebhookSettings = {
    urls,
    timeoutMs: int(env.WEBHOOK_TIMEOUT_MS, 10_000, 1),
    retryBaseSeconds: int(env.WEBHOOK_RETRY_BASE_SECONDS, 10),
    // Queues delays at most 12 hours.
    retryMaxSeconds: Math.min(int(env.WEBHOOK_RETRY_MAX_SECONDS, 1800), 43_200),
    redeliverMs: int(env.WEBHOOK_REDELIVER_SECONDS, 3600, 1) * 1000,
    batchEvents: int(env.WEBHOOK_BATCH_EVENTS, 50, 1),
    maxBacklog: int(env.WEBHOOK_MAX_BACKLOG, 10_000, 1),
    deadLetterQueue: env.WEBHOOK_DEAD_LETTER_QUEUE ?? "",
  };
  webhooks.set(env, settings);
  return settings;
}

/**
 * WEBHOOK_SECRET: one or more comma-separated secrets of at least 32 characters; each signs every
 * delivery (one `v1=` apiece), so a receiver can move to a new secret before the old one goes.
 */
export function webhookSecrets(env: Pick<Env, "WEBHOOK_SECRET">): string[] {
  const secrets = listSetting(env.WEBHOOK_SECRET);
  if (secrets.length === 0 || secrets.some((s) => s.length < 32)) {
    throw new Error("WEBHOOK_SECRET must hold one or more secrets of at least 32 characters");
  }
  return secrets;
}
