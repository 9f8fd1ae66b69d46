import { type WebhookSettings, webhookSecrets, webhookSettingsFrom } from "./settings";
import { roomOf } from "../durable/room/stub";
import { type WebhookJob, originOf } from "../durable/room/webhook-outbox";
import { describeError, log } from "../log";
import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from "../protocol/webhooks";

/**
 * The Worker's `queue` handler: delivers the rooms' webhook batches (src/durable/room/webhook-outbox.ts
 * explains the design). A message names one room's batch for one endpoint; its events are fetched
 * from the room, POSTed one by one in order, and the room is told how far they got. A failure is
 * retried by the queue with exponential backoff; a message that exhausted its retries arrives here
 * again from the dead-letter queue, and the room is told to move on. Batches of different rooms and
 * endpoints are delivered concurrently; nothing here ever holds a room up.
 */
export async function consumeEvents(batch: MessageBatch, env: Env): Promise<void> {
  const settings = webhookSettingsFrom(env);
  const deadLetters = batch.queue === settings.deadLetterQueue;
  await Promise.all(batch.messages.map((m) => (deadLetters ? abandon(m, env) : deliver(m, env, settings))));
}

function jobOf(body: unknown): WebhookJob | null {
  const j = body as Partial<WebhookJob> | null;
  return typeof j?.conversationId === "string" && typeof j.url === "string" && typeof j.batchId === "string"
    ? { conversationId: j.conversationId, url: j.url, batchId: j.batchId }
    : null;
}

/** The delay before attempt n+1: base·2^(n−1) seconds, at most the max. */
export function retryDelaySeconds(
  settings: Pick<WebhookSettings, "retryBaseSeconds" | "retryMaxSeconds">,
  attempts: number,
): number {
  return Math.min(settings.retryBaseSeconds * 2 ** Math.max(0, attempts - 1), settings.retryMaxSeconds);
}

async function deliver(message: Message, env: Env, settings: WebhookSettings): Promise<void> {
  const job = jobOf(message.body);
  // Not ours, or an endpoint no longer configured: nothing to deliver, ever.
  if (!job || !settings.urls.includes(job.url)) {
    message.ack();
    return;
  }
  const context = {
    conversationId: job.conversationId,
    endpoint: originOf(job.url),
    attempts: message.attempts,
  };
  try {
    const secrets = webhookSecrets(env);
    const room = roomOf(env, job.conversationId);
    const batch = await room.webhookBatch(job.url, job.batchId);
    if (!batch) {
      message.ack(); // delivered already, or superseded by a newer batch of the same events
      return;
    }
    let delivered = 0;
    let failed = false;
    for (const event of batch.events) {
      if (!(await post(job.url, event.body, secrets, settings.timeoutMs, context))) {
        failed = true;
        break;
      }
      delivered = event.seq;
    }
    if (!failed) delivered = batch.through;
    if (delivered > 0) await room.webhookReport(job.url, job.batchId, { deliveredThrough: delivered });
    if (failed) message.retry({ delaySeconds: retryDelaySeconds(settings, message.attempts) });
    else message.ack();
  } catch (err) {
    log("warn", "webhook_batch_failed", { ...context, ...describeError(err) });
    message.retry({ delaySeconds: retryDelaySeconds(settings, message.attempts) });
  }
}

/** One signed POST; true on a 2xx. Redirects are not followed (a 3xx is a failure). */
async function post(
  url: string,
  body: string,
  secrets: readonly string[],
  timeoutMs: number,
  context: Record<string, unknown>,
): Promise<boolean> {
  const signature = await signWebhook(secrets, Math.floor(Date.now() / 1000), body);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "edge-chat-webhooks",
        [WEBHOOK_SIGNATURE_HEADER]: signature,
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return true;
    log("warn", "webhook_delivery_failed", { ...context, status: res.status });
  } catch (err) {
    log("warn", "webhook_delivery_failed", { ...context, ...describeError(err) });
  }
  return false;
}

/** A batch that exhausted its retries: the room skips it (and logs which events were lost). */
async function abandon(message: Message, env: Env): Promise<void> {
  const job = jobOf(message.body);
  if (!job) {
    message.ack();
    return;
  }
  try {
    await roomOf(env, job.conversationId).webhookReport(job.url, job.batchId, { abandoned: true });
    message.ack();
  } catch (err) {
    log("warn", "webhook_abandon_failed", { conversationId: job.conversationId, ...describeError(err) });
    message.retry();
  }
}
