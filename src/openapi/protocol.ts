import * as z from "zod";
import type { Limits } from "../config";
import { CLOSE_CODE_MEANINGS, CloseCode } from "../protocol/close-codes";
import { ClientFrameSchema, InboxEventSchema, PING, PONG, RoomEventSchema } from "../protocol/frames";
import { ConversationSchema, MessageSchema, UserSchema } from "../protocol/models";

type Json = Record<string, unknown>;

/**
 * The WebSocket protocol as data, read off the schemas of src/protocol/ (frames.ts, close-codes.ts):
 * each frame and event type with its JSON Schema, the close codes with their meaning. Served at
 * /api/protocol.json and rendered at /api/docs beside the OpenAPI document.
 */
export function protocolDocument(limits: Limits): Json {
  // Each frame and event is a named schema; the models they carry are shared definitions.
  const frames = named({ client: ClientFrameSchema.options }, "input");
  const events = named({ room: RoomEventSchema.options, inbox: InboxEventSchema.options }, "output", {
    User: UserSchema,
    Message: MessageSchema,
    Conversation: ConversationSchema,
  });
  const pick = (prefix: string, from: Record<string, Json>): Json =>
    Object.fromEntries(
      Object.entries(from)
        .filter(([id]) => id.startsWith(`${prefix}.`))
        .map(([id, schema]) => [id.slice(prefix.length + 1), schema]),
    );
  const closeCodes: Json = {};
  for (const [name, code] of Object.entries(CloseCode)) {
    closeCodes[String(code)] = { name, meaning: CLOSE_CODE_MEANINGS[name as keyof typeof CloseCode] };
  }
  return {
    title: "Edge chat WebSocket protocol",
    description:
      "Frames are JSON text. Open a socket with GET on a /ws route (OpenAPI: tag Sockets) with the " +
      "token in Authorization, or ?ticket= (POST /api/ws-ticket) or ?access_token= from a browser. " +
      `Frames are limited to ${limits.maxFrameBytes} bytes (MAX_FRAME_BYTES).`,
    sockets: {
      "/api/conversations/{id}/ws": {
        query: {
          since: "the last seq the client saw: every later message is replayed after `ready`",
          batch: "1: events committed together arrive as one JSON array frame",
        },
        clientFrames: "clientFrames",
        serverEvents: "roomEvents",
      },
      "/api/inbox/ws": { clientFrames: "none (keep-alive only)", serverEvents: "inboxEvents" },
    },
    keepAlive: { send: PING, answer: PONG, note: "bare text frames, answered without waking the object" },
    clientFrames: pick("client", frames),
    roomEvents: pick("room", events),
    inboxEvents: pick("inbox", events),
    closeCodes,
    definitions: { User: events["User"], Message: events["Message"], Conversation: events["Conversation"] },
  };
}

/** JSON Schemas of the frame types (`<group>.<type>`) and of `shared`, cross-referenced by name. */
function named(
  groups: Record<string, readonly z.ZodObject[]>,
  io: "input" | "output",
  shared: Record<string, z.ZodType> = {},
): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(shared)) registry.add(schema, { id });
  for (const [group, options] of Object.entries(groups)) {
    for (const option of options) {
      const type = (option.shape["type"] as z.ZodLiteral<string>).value;
      registry.add(option, { id: `${group}.${type}` });
    }
  }
  const out = z.toJSONSchema(registry, { io, uri: (id) => `#/definitions/${id}`, unrepresentable: "any" });
  return Object.fromEntries(Object.entries(out.schemas).map(([id, schema]) => [id, strip(schema)]));
}

/** The document is one JSON file: the per-schema `$schema`/`$id` are noise there. */
function strip(schema: object): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema as Json;
  return rest;
}
