import type { Conversation } from "../protocol/models";
import { decodeBase64Url, notificationText } from "../protocol/push";
import { type Api, ApiError } from "./api";

/**
 * Browser notifications, both kinds, behind one permission asked for from a button (never on load):
 * - in-tab: while this tab is open but hidden, a new message from someone else shows a notification;
 * - Web Push: with the tab closed, the server pushes to this browser's subscription and the service
 *   worker (src/client/sw/sw.ts) shows it. The server pushes only while none of the user's sockets
 *   is open, so the two never say the same thing twice.
 * Clicking either opens the conversation.
 */

export type NotificationState = "unsupported" | "default" | "granted" | "denied";

/** The longest title and body of an in-tab notification (the server's pushes have their own setting). */
const MAX_CHARS = 120;

/**
 * Not inside a host app's frame: browsers refuse notification permission to cross-origin frames,
 * and there the host app owns notifications.
 */
const supported = (): boolean =>
  "Notification" in window && "serviceWorker" in navigator && window.self === window.top;

/** Trusted Types (not yet in TypeScript's DOM types): what this file needs of them. */
interface TrustedScriptUrl {
  readonly __trustedScriptUrl: unique symbol;
}
declare global {
  interface Window {
    trustedTypes?: {
      createPolicy(
        name: string,
        rules: { createScriptURL(url: string): string },
      ): { createScriptURL(url: string): TrustedScriptUrl };
    };
  }
  interface ServiceWorkerContainer {
    register(scriptURL: TrustedScriptUrl, options?: RegistrationOptions): Promise<ServiceWorkerRegistration>;
  }
}

const WORKER_URL = "/sw.js";

/**
 * The page enforces Trusted Types, and registering a service worker is a script-URL sink: the one
 * policy the CSP allows (`trusted-types service-worker`) lets exactly this URL through.
 */
function workerUrl(): TrustedScriptUrl | string {
  const policy = window.trustedTypes?.createPolicy("service-worker", {
    createScriptURL: (url) => {
      if (url !== WORKER_URL) throw new TypeError(`Not the service worker: ${url}`);
      return url;
    },
  });
  return policy ? policy.createScriptURL(WORKER_URL) : WORKER_URL;
}

let registration: Promise<ServiceWorkerRegistration | null> | null = null;

/** Registers the service worker once per page (it shows pushes and handles clicks). */
function worker(): Promise<ServiceWorkerRegistration | null> {
  registration ??= supported()
    ? Promise.resolve()
        .then(() => {
          const url = workerUrl();
          return typeof url === "string"
            ? navigator.serviceWorker.register(url, { scope: "/" })
            : navigator.serviceWorker.register(url, { scope: "/" });
        })
        .then(() => navigator.serviceWorker.ready)
        .catch((err: unknown) => {
          console.warn("notifications: no service worker", err);
          return null;
        })
    : Promise.resolve(null);
  return registration;
}

/** The service worker asks an open tab to show a conversation (a click on a notification). */
export function listenForOpenRequests(open: (conversationId: string) => void): void {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (typeof data !== "object" || data === null) return;
    const { type, conversationId } = data as { type?: unknown; conversationId?: unknown };
    if (type === "open-conversation" && typeof conversationId === "string") open(conversationId);
  });
}

export class Notifications {
  private readonly listeners = new Set<() => void>();
  /** Set when the server or this browser has no Web Push: in-tab notifications still work. */
  pushProblem: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly meId: string,
  ) {
    if (this.state === "granted") void this.subscribe(false);
  }

  get state(): NotificationState {
    return supported() ? Notification.permission : "unsupported";
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** From a click (browsers want a user gesture): asks, then subscribes this browser to pushes. */
  async enable(): Promise<NotificationState> {
    if (!supported()) return "unsupported";
    const answer = await Notification.requestPermission();
    this.emit();
    if (answer === "granted") await this.subscribe(true);
    return answer;
  }

  /**
   * A live inbox update: notifies when this tab is hidden and the conversation's newest message is
   * new, someone else's and unread.
   */
  onLiveUpdate(conversation: Conversation, before: Conversation | undefined, unread: number): void {
    if (document.visibilityState !== "hidden" || this.state !== "granted") return;
    const message = conversation.lastMessage;
    if (!message || message.deletedAt || message.sender?.id === this.meId || unread === 0) return;
    if (before && before.lastSeq >= conversation.lastSeq) return;
    const text = notificationText(conversation, message, this.meId, MAX_CHARS);
    void this.show(conversation.id, text.title, text.body);
  }

  private async show(conversationId: string, title: string, body: string): Promise<void> {
    // One notification per conversation: a newer message replaces the one before.
    const options: NotificationOptions = {
      body,
      tag: conversationId,
      icon: "/favicon.svg",
      data: { conversationId },
    };
    const reg = await worker();
    try {
      if (reg) {
        await reg.showNotification(title, options);
        return;
      }
      const notification = new Notification(title, options);
      notification.addEventListener("click", () => {
        window.focus();
        location.hash = `#/c/${conversationId}`;
        notification.close();
      });
    } catch (err) {
      console.warn("notifications: could not show one", err);
    }
  }

  /**
   * Subscribes this browser to the server's pushes and hands the subscription to the server (again
   * on every sign-in, so the account signed in here is the one that gets them).
   */
  private async subscribe(fromClick: boolean): Promise<void> {
    const reg = await worker();
    if (!reg || !("pushManager" in reg)) {
      this.fail("This browser cannot receive notifications while the tab is closed");
      return;
    }
    try {
      const { key } = await this.api.vapidPublicKey();
      let subscription = await reg.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, key)) {
        // Made for another server key (the keys were rotated): it would be refused.
        await subscription.unsubscribe();
        subscription = null;
      }
      const applicationServerKey = decodeBase64Url(key);
      if (!applicationServerKey) throw new Error("The server's push key is not base64url");
      subscription ??= await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: applicationServerKey.slice().buffer,
      });
      const json = subscription.toJSON();
      await this.api.savePushSubscription({
        endpoint: subscription.endpoint,
        keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
      });
      this.pushProblem = null;
      this.emit();
    } catch (err) {
      const reason =
        err instanceof ApiError && err.status === 503
          ? "This server does not send notifications while the tab is closed"
          : "Notifications while the tab is closed could not be turned on";
      console.warn("notifications:", err);
      this.fail(fromClick ? reason : null);
    }
  }

  private fail(reason: string | null): void {
    this.pushProblem = reason;
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function sameKey(subscription: PushSubscription, key: string): boolean {
  const current = subscription.options.applicationServerKey;
  const wanted = decodeBase64Url(key);
  if (!current || !wanted) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === wanted.length && bytes.every((b, i) => b === wanted[i]);
}

/**
 * On sign-out: the server forgets this browser's subscription (with the token that is still
 * valid) and the browser drops it, so the next person signed in here gets nobody else's messages.
 */
export async function forgetPushSubscription(token: string | null): Promise<void> {
  if (!supported()) return;
  try {
    const reg = await navigator.serviceWorker.getRegistration("/");
    const subscription = await reg?.pushManager.getSubscription();
    if (!subscription) return;
    if (token) {
      await fetch("/api/push/subscriptions", {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ endpoint: subscription.endpoint }),
      }).catch(() => undefined);
    }
    await subscription.unsubscribe();
    // In-tab notifications of the signed-out account go too.
    for (const n of (await reg?.getNotifications()) ?? []) n.close();
  } catch (err) {
    console.warn("notifications: could not unsubscribe", err);
  }
}
