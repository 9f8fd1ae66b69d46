import * as z from "zod";
import type { Conversation, Message, User } from "./models";
import { previewText } from "./text";

/**
 * Web Push, typed once: the subscription bodies of API.md ("Notifications to people who are away"),
 * the payload a service worker receives, and the words of a notification, shared by the server's
 * push and the web client's in-tab notification so both say the same thing.
 */

// The push payload and the VAPID key response are in responses.ts: no schema is built when this
// module loads, so the web client imports notificationText without the full zod.
export type { PushPayload } from "./responses";

/** Standard or url-safe base64, padding optional, as bytes; null when it is not base64. */
export function decodeBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return null;
  const plain = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (plain.length % 4 === 1) return null;
  try {
    const binary = atob(plain + "=".repeat((4 - (plain.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** RFC 8291: the browser's key is an uncompressed P-256 point (65 bytes, 0x04 first)… */
const isP256Point = (text: string): boolean => {
  const bytes = decodeBase64Url(text);
  return bytes !== null && bytes.length === 65 && bytes[0] === 4;
};
/** …and its authentication secret is 16 bytes. */
const isAuthSecret = (text: string): boolean => decodeBase64Url(text)?.length === 16;

export interface PushEndpointRules {
  pushEndpointMaxChars: number;
  /** Hosts whose endpoints may be plain http (a local test push service); every other is https. */
  pushHttpHosts: readonly string[];
}

/** The endpoint as the URL parser reads it, or null when it is not one the server will post to. */
function parseEndpoint(value: string, rules: PushEndpointRules): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (url.protocol === "https:") return url;
  return url.protocol === "http:" && rules.pushHttpHosts.includes(url.hostname) ? url : null;
}

export function pushRequestSchemas(rules: PushEndpointRules) {
  const max = rules.pushEndpointMaxChars;
  const endpoint = z
    .string()
    .max(max, `endpoint must be at most ${max} characters`)
    .refine((value) => parseEndpoint(value, rules) !== null, "endpoint must be an https URL")
    // Stored and later fetched in parsed form, so what is used is exactly what was checked.
    .transform((value) => parseEndpoint(value, rules)?.href ?? value)
    .refine((href) => href.length <= max, `endpoint must be at most ${max} characters`);
  return {
    subscribe: z.strictObject({
      endpoint,
      // Browsers' PushSubscription.toJSON() carries it; accepted and ignored.
      expirationTime: z.number().nullable().optional(),
      keys: z.strictObject({
        p256dh: z
          .string()
          .max(128)
          .refine(isP256Point, "keys.p256dh must be a base64url P-256 public key (65 bytes)"),
        auth: z.string().max(32).refine(isAuthSecret, "keys.auth must be a base64url 16-byte secret"),
      }),
    }),
    unsubscribe: z.strictObject({
      endpoint: z
        .string()
        .max(max, `endpoint must be at most ${max} characters`)
        .transform((value) => parseEndpoint(value, rules)?.href ?? value),
    }),
  };
}

export type PushSubscriptionInput = z.infer<ReturnType<typeof pushRequestSchemas>["subscribe"]>;

/** At most `max` characters (whole code points), an ellipsis marking a cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

const nameOf = (user: User): string => `${user.firstName} ${user.lastName}`.trim() || "Someone";

/**
 * A notification for `message` as `recipientId` sees it: a direct message is titled with its
 * sender; a group with its title (or the first names of the others) and the sender before the text.
 * A system message (no sender) is titled with the conversation and carries only its text.
 */
export function notificationText(
  conversation: Pick<Conversation, "kind" | "title" | "participants">,
  message: Pick<Message, "sender" | "body"> & Partial<Pick<Message, "attachments">>,
  recipientId: string,
  maxChars: number,
): { title: string; body: string } {
  const text = previewText(message);
  const { sender } = message;
  const others = conversation.participants.filter((p) => p.id !== recipientId);
  if (conversation.kind === "direct") {
    const title = sender ? nameOf(sender) : (conversation.title ?? (others[0] ? nameOf(others[0]) : "Chat"));
    return { title: clip(title, maxChars), body: clip(text, maxChars) };
  }
  const names = others.map((p) => p.firstName || nameOf(p));
  const title =
    conversation.title ??
    (names.length > 3 ? `${names.slice(0, 3).join(", ")} +${names.length - 3}` : names.join(", ") || "Group");
  const body = sender ? `${sender.firstName || nameOf(sender)}: ${text}` : text;
  return { title: clip(title, maxChars), body: clip(body, maxChars) };
}
