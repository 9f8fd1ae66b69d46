import * as z from "zod";
import { type ErrorCode, ErrorCodeSchema } from "./errors";
import { EmojiSchema } from "./emoji";
import { ConversationSchema, MessageSchema, ReadPositionSchema } from "./models";
import { BODY_RULES, TOKEN_RULES, type TextRule, withRules } from "./text";

/**
 * The WebSocket protocol of API.md, typed once. Client frames are validated by the objects; server
 * events are built by the objects and parsed by the web client and the tests.
 */

/** Hard caps on frame fields; the configurable, smaller message limits are checked by the room. */
const CLIENT_ID_MAX = 128;
const BODY_MAX = 100_000;
const ClientIdSchema = withRules(z.string().min(1).max(CLIENT_ID_MAX), TOKEN_RULES);
const IdSchema = z.string().min(1).max(64);
const BodySchema = withRules(z.string().max(BODY_MAX), BODY_RULES);
const SeqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("send"),
    body: BodySchema,
    clientId: ClientIdSchema,
    /** The id of a message of this conversation that this one answers. */
    replyTo: IdSchema.optional(),
    /** Files the sender uploaded to this conversation; with some, `body` may be "". */
    attachments: z.array(IdSchema).max(100).optional(),
  }),
  z.strictObject({ type: z.literal("edit"), messageId: IdSchema, body: BodySchema }),
  z.strictObject({ type: z.literal("delete"), messageId: IdSchema }),
  z.strictObject({ type: z.literal("typing"), active: z.boolean() }),
  z.strictObject({ type: z.literal("read"), seq: SeqSchema }),
  z.strictObject({
    type: z.literal("react"),
    messageId: IdSchema,
    emoji: EmojiSchema,
    active: z.boolean(),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** The frame types clients may send, read off the schema. */
const CLIENT_FRAME_TYPES: readonly string[] = ClientFrameSchema.options.map((o) => o.shape.type.value);

export const RoomEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("ready"),
    conversationId: z.string(),
    lastSeq: z.number().int(),
    online: z.array(z.string()),
    /** Everyone's read position now (as on Conversation): "seen by" right after a reconnect. */
    reads: z.array(ReadPositionSchema),
    /** The seq of the last message the replay after this event brings; null without `since`. */
    replayedTo: z.number().int().nullable(),
  }),
  z.object({ type: z.literal("message"), message: MessageSchema }),
  z.object({ type: z.literal("ack"), clientId: z.string().nullable(), message: MessageSchema }),
  z.object({ type: z.literal("message.updated"), message: MessageSchema }),
  z.object({ type: z.literal("message.deleted"), message: MessageSchema }),
  z.object({ type: z.literal("typing"), userId: z.string(), active: z.boolean() }),
  z.object({ type: z.literal("read"), userId: z.string(), seq: z.number().int() }),
  z.object({ type: z.literal("presence"), userId: z.string(), online: z.boolean() }),
  /** `userId` added (`active`) or took back `emoji` on a message; `count` is how many have it now. */
  z.object({
    type: z.literal("reaction"),
    messageId: z.string(),
    seq: z.number().int(),
    emoji: z.string(),
    userId: z.string(),
    active: z.boolean(),
    count: z.number().int(),
  }),
  /** A participant (`userId`) renamed the group. */
  z.object({
    type: z.literal("conversation.updated"),
    conversationId: z.string(),
    title: z.string().nullable(),
    userId: z.string(),
  }),
  /** `userId` is no longer in the group: they left (`by` is themselves) or the creator removed them. */
  z.object({ type: z.literal("participant.removed"), userId: z.string(), by: z.string() }),
  z.object({
    type: z.literal("error"),
    code: ErrorCodeSchema,
    message: z.string(),
    clientId: z.string().optional(),
  }),
]);
export type RoomEvent = z.infer<typeof RoomEventSchema>;

export const InboxEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("conversation.created"), conversation: ConversationSchema }),
  z.object({ type: z.literal("conversation.updated"), conversation: ConversationSchema }),
  z.object({ type: z.literal("conversation.removed"), conversationId: z.string() }),
  z.object({ type: z.literal("error"), code: ErrorCodeSchema, message: z.string() }),
]);
export type InboxEvent = z.infer<typeof InboxEventSchema>;

/**
 * A client frame the server refuses, with what the `error` event tells the client: an unknown or
 * unreadable frame is `bad_request`, a known type with a broken field `validation_failed`, and the
 * frame's `clientId` (when it has a usable one) so the client can match the refusal to its send.
 */
export interface InvalidFrame {
  type: "invalid";
  code: Extract<ErrorCode, "bad_request" | "validation_failed">;
  message: string;
  clientId?: string;
}

/** Parses one frame from a client: the frame itself (no wrapper: this runs per message), or why not. */
export function parseClientFrame(data: string | ArrayBuffer): ClientFrame | InvalidFrame {
  if (typeof data !== "string") return invalid("bad_request", "Frames must be JSON text");
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return invalid("bad_request", "Frames must be JSON");
  }
  const fast = fastClientFrame(raw);
  if (fast !== undefined) return fast;
  const parsed = ClientFrameSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const clientId = fieldOf(raw, "clientId");
  // Not String(type): a frame's `type` can be an object whose toString is not a function.
  const type = fieldOf(raw, "type");
  if (type === undefined || !CLIENT_FRAME_TYPES.includes(type)) {
    return invalid("bad_request", "Unknown frame type", clientId);
  }
  const first = parsed.error.issues[0];
  const detail = first ? `${first.path.join(".") || "frame"}: ${first.message}` : "invalid frame";
  return invalid("validation_failed", detail, clientId);
}

/**
 * The frames of every message (`send`, `read`, `typing`) checked by hand: the same rules as
 * ClientFrameSchema, the same result, without zod's cost per frame (a tenth of the room's CPU per
 * message). Undefined for anything else, valid or not: the schema decides those and explains
 * refusals. test/unit/client-frames.test.ts checks, on generated frames, that the two agree.
 */
export function fastClientFrame(raw: unknown): ClientFrame | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const f = raw as Record<string, unknown>;
  const keys = Object.keys(f).length;
  switch (f.type) {
    case "send": {
      const { body, clientId } = f;
      if (keys !== 3 || typeof body !== "string" || typeof clientId !== "string") return undefined;
      if (body.length > BODY_MAX || !passes(body, BODY_RULES)) return undefined;
      if (clientId.length === 0 || clientId.length > CLIENT_ID_MAX || !passes(clientId, TOKEN_RULES))
        return undefined;
      return { type: "send", body, clientId };
    }
    case "read": {
      const { seq } = f;
      if (keys !== 2 || typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
      return { type: "read", seq };
    }
    case "typing": {
      const { active } = f;
      if (keys !== 2 || typeof active !== "boolean") return undefined;
      return { type: "typing", active };
    }
    default:
      return undefined;
  }
}

function passes(text: string, rules: readonly TextRule[]): boolean {
  for (const rule of rules) if (!rule.test(text)) return false;
  return true;
}

function invalid(code: InvalidFrame["code"], message: string, clientId?: string): InvalidFrame {
  return clientId === undefined
    ? { type: "invalid", code, message }
    : { type: "invalid", code, message, clientId };
}

/** A short string field of an unvalidated frame (a clientId is at most 128 characters). */
function fieldOf(raw: unknown, key: "clientId" | "type"): string | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const value: unknown = (raw as Record<string, unknown>)[key];
  return typeof value === "string" && value.length <= 128 ? value : undefined;
}

// The readers of server frames live where the web client can import them without the full zod.
export { PING, PONG, parseFrame, parseFrames } from "./parse";
