import { inject } from "vitest";

/**
 * The local push service of setup/push-service.ts (`web-push-testing`), seen from inside workerd:
 * it plays a browser's push subscription, and keeps the payloads it could verify and decrypt.
 */
export interface PushClient {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  clientHash: string;
}

const base = (): string => inject("pushServiceUrl");

async function post<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(base() + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`push service ${path}: ${res.status} ${text}`);
  const json = res.headers.get("content-type")?.includes("json") ?? false;
  return (json ? JSON.parse(text) : undefined) as T;
}

/** A new subscription, bound to the server's VAPID public key as a browser's would be. */
export async function newPushClient(applicationServerKey: string): Promise<PushClient> {
  return (await post<{ data: PushClient }>("/subscribe", { applicationServerKey })).data;
}

/** Every payload the push service received for this client and decrypted, in order (parsed JSON). */
export async function receivedPushes(client: PushClient): Promise<any[]> {
  const { data } = await post<{ data: { messages: string[] } }>("/get-notifications", {
    clientHash: client.clientHash,
  });
  return data.messages.map((m) => JSON.parse(m));
}

/** From now on the push service answers 410 Gone for this subscription (a browser that unsubscribed). */
export async function expirePushClient(client: PushClient): Promise<void> {
  await post(`/expire-subscription/${client.clientHash}`);
}
