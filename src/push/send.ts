import { encryptNotification } from "@block65/webcrypto-web-push";
import type { PushPayload } from "../protocol/push";
import { type Vapid, vapidAuthorization } from "./vapid";

/** A subscription as stored: what a browser's PushSubscription.toJSON() gave. */
export interface StoredSubscription {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** What became of one push: delivered to the push service, gone for good, or failed this time. */
export type PushOutcome =
  | { kind: "sent"; status: number }
  | { kind: "gone"; status: number }
  | { kind: "failed"; status: number | null; reason: string };

export interface PushOptions {
  ttlSeconds: number;
  timeoutMs: number;
  /** RFC 8030 topic: a push service keeps only the latest undelivered push of a topic. */
  topic?: string;
}

const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Sends one encrypted push (RFC 8291 aes128gcm, padded to a constant size by the library, so the
 * push service learns nothing from the length) with VAPID (RFC 8292). Never throws: every failure
 * is an outcome, and 404/410 mean the subscription is gone and must be forgotten (RFC 8030 §7.3).
 */
export async function sendPush(
  subscription: StoredSubscription,
  payload: PushPayload,
  vapid: Vapid,
  options: PushOptions,
): Promise<PushOutcome> {
  try {
    const endpoint = new URL(subscription.endpoint);
    const body = await encryptNotification(
      {
        endpoint: subscription.endpoint,
        expirationTime: null,
        keys: { p256dh: subscription.p256dh, auth: subscription.auth },
      },
      new TextEncoder().encode(JSON.stringify(payload)),
    );
    const headers: Record<string, string> = {
      authorization: await vapidAuthorization(endpoint, vapid),
      "content-encoding": "aes128gcm",
      "content-type": "application/octet-stream",
      ttl: String(options.ttlSeconds),
      urgency: "normal",
    };
    if (options.topic && TOPIC.test(options.topic)) headers.topic = options.topic;
    const res = await fetch(endpoint, {
      method: "POST",
      headers,
      body,
      // A push service answers; it does not send the server elsewhere.
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await res.body?.cancel();
    if (res.status === 404 || res.status === 410) return { kind: "gone", status: res.status };
    if (res.status >= 200 && res.status < 300) return { kind: "sent", status: res.status };
    return { kind: "failed", status: res.status, reason: `push service answered ${res.status}` };
  } catch (err) {
    return { kind: "failed", status: null, reason: err instanceof Error ? err.message : String(err) };
  }
}
