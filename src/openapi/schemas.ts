import * as z from "zod";
import type { Limits } from "../config";
import { ErrorBodySchema } from "../protocol/errors";
import {
  AuthResponseSchema,
  ConversationSchema,
  MeSchema,
  MessageSchema,
  MintedTokenSchema,
  RefreshResponseSchema,
  TicketResponseSchema,
  UserSchema,
} from "../protocol/models";
import { pushRequestSchemas } from "../protocol/push";
import { requestSchemas } from "../protocol/requests";
import {
  AttachmentResponseSchema,
  ConversationCreatedSchema,
  HistoryPageSchema,
  InboxPageSchema,
  MessageResponseSchema,
  SearchPageSchema,
  UserExportSchema,
  UserListSchema,
  VapidKeyResponseSchema,
} from "../protocol/responses";
import { searchQuerySchema } from "../protocol/search";
import { searchQuery } from "../routes/users";

/**
 * The named schemas of the OpenAPI document: the very zod schemas the routes validate with (built
 * from this deployment's limits, so the documented maxima are the enforced ones) and the ones the
 * protocol module gives the responses.
 */
export function requestComponents(limits: Limits) {
  const s = requestSchemas(limits);
  const push = pushRequestSchemas(limits);
  return {
    RegisterRequest: s.register,
    LoginRequest: s.login,
    UpdateMeRequest: s.updateMe,
    DeleteMeRequest: s.deleteMe,
    UserSearchQuery: searchQuery(limits),
    InboxQuery: s.inboxQuery,
    CreateConversationRequest: s.createConversation,
    RenameConversationRequest: s.renameConversation,
    ConversationSettingsRequest: s.conversationSettings,
    AddParticipantsRequest: s.addParticipants,
    MarkReadRequest: s.markRead,
    HistoryQuery: s.historyQuery,
    SendMessageRequest: s.sendMessage,
    EditMessageRequest: s.editMessage,
    PushSubscribeRequest: push.subscribe,
    PushUnsubscribeRequest: push.unsubscribe,
    MessageSearchQuery: searchQuerySchema(limits),
    ServerUserRequest: s.serverUser,
    ServerCreateConversationRequest: s.serverCreateConversation,
    ServerMessageRequest: s.serverMessage,
    AttachmentUploadQuery: z.object({
      name: z.string().optional().meta({ description: "The file's name (repaired, never refused)" }),
    }),
    AttachmentLinkQuery: z.object({
      u: z.string().optional().meta({ description: "Signed link: the reader's user id" }),
      e: z.string().optional().meta({ description: "Signed link: its expiry (Unix seconds)" }),
      s: z.string().optional().meta({ description: "Signed link: the signature" }),
    }),
  } satisfies Record<string, z.ZodType>;
}

/** Response bodies (and the models they carry, which get their own names so they are shared). */
export const RESPONSE_COMPONENTS = {
  User: UserSchema,
  Me: MeSchema,
  Message: MessageSchema,
  Conversation: ConversationSchema,
  Error: ErrorBodySchema,
  Health: z.object({ ok: z.literal(true) }),
  Json: z.record(z.string(), z.unknown()).meta({ description: "A JSON document" }),
  Auth: AuthResponseSchema,
  Refresh: RefreshResponseSchema,
  Ticket: TicketResponseSchema,
  UserList: UserListSchema,
  InboxPage: InboxPageSchema,
  ConversationCreated: ConversationCreatedSchema,
  HistoryPage: HistoryPageSchema,
  MessageResponse: MessageResponseSchema,
  AttachmentResponse: AttachmentResponseSchema,
  VapidKey: VapidKeyResponseSchema,
  PushSubscribed: z.object({ endpoint: z.string() }),
  MintedToken: MintedTokenSchema,
  UserExport: UserExportSchema,
  SearchPage: SearchPageSchema,
} satisfies Record<string, z.ZodType>;

export type RequestComponent = keyof ReturnType<typeof requestComponents>;
export type ResponseComponent = keyof typeof RESPONSE_COMPONENTS;

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of every named schema, cross-referenced by name. */
export function jsonSchemas(
  schemas: Record<string, z.ZodType>,
  io: "input" | "output",
): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    io,
    uri: (id) => `#/components/schemas/${id}`,
    // Refinements and transforms (URL checks, trimming) have no JSON Schema; their types do.
    unrepresentable: "any",
  });
  const result: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(out)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
    result[id] = rest;
  }
  return result;
}
