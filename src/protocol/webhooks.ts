import * as z from "zod";
import { ConversationSchema, MessageSchema, UserSchema } from "./models";

/**
 * Webhook events as the host application's endpoints receive them (API.md, "Webhooks"): one POST
 * per event, body `{id, type, createdAt, data}`, signed in the `X-Chat-Signature` header. Delivered
 * at least once (`id` deduplicates) and in order per conversation.
 */

export const WEBHOOK_SIGNATURE_HEADER = "X-Chat-Signature";

/** A conversation as a webhook tells it: who is in it, no caller-specific read state. */
export const WebhookConversationSchema = ConversationSchema.pick({
  id: true,
  kind: true,
  title: true,
  participants: true,
  createdAt: true,
}).extend({ createdBy: z.string() });
export type WebhookConversation = z.infer<typeof WebhookConversationSchema>;

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({ id: z.string(), type: z.literal(type), createdAt: z.string(), data });

const messageData = z.object({ message: MessageSchema });
const participantData = z.object({ conversationId: z.string(), user: UserSchema });

export const WebhookEventSchema = z.discriminatedUnion("type", [
  envelope("message.created", messageData),
  envelope("message.updated", messageData),
  // The tombstone: body "" and deletedAt set.
  envelope("message.deleted", messageData),
  envelope("conversation.created", z.object({ conversation: WebhookConversationSchema })),
  envelope("participant.added", participantData),
  envelope("participant.left", participantData),
]);
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;
export type WebhookEventType = WebhookEvent["type"];
/** An event before it has an id and a time (what the room records). */
export type WebhookEventInput = {
  [E in WebhookEvent as E["type"]]: Pick<E, "type" | "data">;
}[WebhookEventType];

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The `X-Chat-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
 * one `v1` per secret while WEBHOOK_SECRET is being rotated (a receiver accepts any that matches).
 */
export async function signWebhook(
  secrets: readonly string[],
  timestamp: number,
  body: string,
): Promise<string> {
  const encoder = new TextEncoder();
  const parts = [`t=${timestamp}`];
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    parts.push(`v1=${hex(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`)))}`);
  }
  return parts.join(",");
}
