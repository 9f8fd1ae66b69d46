/// <reference lib="webworker" />
import type { PushPayload } from "../../protocol/push";

/**
 * The service worker: shows the Web Push notifications the server sends while none of the user's
 * tabs is open, and opens the conversation when one (or an in-tab notification) is clicked. It
 * handles no fetches: the app works the same without it.
 */

declare const self: ServiceWorkerGlobalScope;

const ID = /^[\w-]{1,64}$/;

self.addEventListener("install", () => {
  void self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

/** The payload of API.md (`{conversationId, title, body}`), or null when it is anything else. */
function payloadOf(data: PushMessageData | null): PushPayload | null {
  let value: unknown;
  try {
    value = data?.json();
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { conversationId, title, body } = value as Record<string, unknown>;
  if (typeof conversationId !== "string" || !ID.test(conversationId)) return null;
  if (typeof title !== "string" || typeof body !== "string") return null;
  return { conversationId, title, body };
}

self.addEventListener("push", (event) => {
  const payload = payloadOf(event.data);
  // Subscribed with userVisibleOnly: every push shows something, even one that cannot be read.
  const title = payload?.title ?? "Edge chat";
  const options: NotificationOptions = {
    body: payload?.body ?? "You have a new message",
    icon: "/favicon.svg",
    // One per conversation: a newer message replaces the older one.
    tag: payload?.conversationId ?? "edge-chat",
    data: payload ? { conversationId: payload.conversationId } : {},
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data: unknown = event.notification.data;
  const id =
    typeof data === "object" && data !== null
      ? (data as { conversationId?: unknown }).conversationId
      : undefined;
  event.waitUntil(openConversation(typeof id === "string" && ID.test(id) ? id : null));
});

/** Focuses a tab of the app and shows the conversation there, or opens a new one at it. */
async function openConversation(conversationId: string | null): Promise<void> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const tab = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (tab) {
    await tab.focus();
    // A Client (not a Window) takes no target origin: it is this origin's own tab.
    // oxlint-disable-next-line unicorn/require-post-message-target-origin
    if (conversationId) tab.postMessage({ type: "open-conversation", conversationId });
    return;
  }
  await self.clients.openWindow(conversationId ? `/#/c/${conversationId}` : "/");
}
