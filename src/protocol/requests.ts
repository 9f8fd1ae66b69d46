import * as z from "zod";
import { BODY_RULES, LABEL_RULES, TOKEN_RULES, isWellFormed, withRules } from "./text";

/**
 * REST request bodies and queries of API.md. Length limits come from settings, so the schemas are
 * built per limits (the server's `Limits` has these fields; the web client's forms use the types).
 */
export interface RequestLimits {
  maxMessageChars: number;
  maxGroupSize: number;
  maxTitleChars: number;
  maxNameChars: number;
  maxAvatarUrlChars: number;
  /** The largest history page: the one place it is checked (the room serves what it is asked). */
  historyPageMax: number;
  /** ATTACHMENTS_PER_MESSAGE. */
  attachmentsPerMessage: number;
}

/** The inbox page size: not a setting, D1 answers a page in three queries whatever its size. */
const INBOX_PAGE_MAX = 50;
const INBOX_PAGE_DEFAULT = 20;
const HISTORY_PAGE_DEFAULT = 50;

const trimmed = (max: number, what: string) =>
  z.string().trim().min(1, `${what} must not be empty`).max(max, `${what} must be at most ${max} characters`);

/** A name or title: shown to other people on one line, so no control or direction-override characters. */
const label = (max: number, what: string) => withRules(trimmed(max, what), LABEL_RULES);

/** The URL as the WHATWG parser reads it, or null: the one reading every browser will share. */
function parseHttpUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url : null;
  } catch {
    return null;
  }
}

/**
 * http(s) only: a `javascript:` or `data:` avatar would run or leak in someone else's browser.
 * Stored in its parsed form (`href`), so what is kept is exactly what was checked.
 */
const avatarUrl = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `avatarUrl must be at most ${max} characters`)
    .refine((value) => parseHttpUrl(value) !== null, "avatarUrl must be an http or https URL")
    .transform((value) => parseHttpUrl(value)?.href ?? value)
    .refine((href) => href.length <= max, `avatarUrl must be at most ${max} characters`)
    .nullable();

const userId = z.string().min(1).max(64);
const messageId = z.string().min(1).max(64);
const attachmentId = z.string().min(1).max(64);
const clientId = withRules(z.string().min(1).max(128), TOKEN_RULES);
const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export function requestSchemas(limits: RequestLimits) {
  const body = withRules(trimmed(limits.maxMessageChars, "body"), BODY_RULES);
  const createConversation = z.strictObject({
    participantIds: z
      .array(userId)
      .min(1, "participantIds must name at least one other user")
      .max(limits.maxGroupSize, `a conversation has at most ${limits.maxGroupSize} participants`),
    title: label(limits.maxTitleChars, "title").optional(),
    body: body.optional(),
    clientId: clientId.optional(),
  });
  // A message with files may have no text: "" (the refinement below wants text or files).
  const optionalBody = withRules(
    z
      .string()
      .trim()
      .max(limits.maxMessageChars, `body must be at most ${limits.maxMessageChars} characters`),
    BODY_RULES,
  );
  const maxFiles = limits.attachmentsPerMessage;
  return {
    register: z.strictObject({
      email: z.email().max(254),
      password: z
        .string()
        .min(8, "password must be at least 8 characters")
        .max(1024)
        .refine(isWellFormed, "password must not contain unpaired surrogates"),
      firstName: label(limits.maxNameChars, "firstName"),
      lastName: label(limits.maxNameChars, "lastName"),
      avatarUrl: avatarUrl(limits.maxAvatarUrlChars).optional(),
    }),
    login: z.strictObject({
      email: z.string().max(254),
      password: z.string().max(1024),
    }),
    updateMe: z.strictObject({
      firstName: label(limits.maxNameChars, "firstName").optional(),
      lastName: label(limits.maxNameChars, "lastName").optional(),
      avatarUrl: avatarUrl(limits.maxAvatarUrlChars).optional(),
    }),
    /**
     * DELETE /api/me: the password of an account that has one; an account without one (an identity
     * provider's) sends none and needs a recent sign-in instead.
     */
    deleteMe: z.strictObject({ password: z.string().max(1024).optional() }),
    createConversation,
    addParticipants: z.strictObject({
      userIds: z
        .array(userId)
        .min(1, "userIds must name at least one user")
        .max(limits.maxGroupSize, `a conversation has at most ${limits.maxGroupSize} participants`),
    }),
    sendMessage: z
      .strictObject({
        body: optionalBody,
        clientId: clientId.optional(),
        replyTo: messageId.optional(),
        /** Files uploaded to this conversation by the sender (POST …/attachments), not sent before. */
        attachments: z
          .array(attachmentId)
          .max(maxFiles, `a message carries at most ${maxFiles} attachments`)
          .optional(),
      })
      .refine((m) => m.body !== "" || (m.attachments?.length ?? 0) > 0, {
        message: "body must not be empty",
        path: ["body"],
      }),
    editMessage: z.strictObject({ body }),
    /** PATCH /api/conversations/:id: groups only; null clears the title (the group is named by its people). */
    renameConversation: z.strictObject({ title: label(limits.maxTitleChars, "title").nullable() }),
    /** PATCH /api/conversations/:id/settings: the caller's own settings of one conversation. */
    conversationSettings: z.strictObject({ muted: z.boolean() }),
    markRead: z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
    /** POST /api/server/conversations: as POST /api/conversations, on behalf of `createdBy`. */
    serverCreateConversation: createConversation.extend({ createdBy: userId }),
    /** POST /api/server/conversations/:id/messages: as `senderId`, or without it a system message. */
    serverMessage: z.strictObject({ body, clientId: clientId.optional(), senderId: userId.optional() }),
    /** PUT /api/server/users/:externalId: the whole profile (an absent avatarUrl or email is cleared). */
    serverUser: z.strictObject({
      firstName: label(limits.maxNameChars, "firstName"),
      lastName: label(limits.maxNameChars, "lastName"),
      avatarUrl: avatarUrl(limits.maxAvatarUrlChars).optional(),
      email: z.email().max(254).nullable().optional(),
    }),
    inboxQuery: z.object({
      limit: z.coerce.number().int().min(1).max(INBOX_PAGE_MAX).default(INBOX_PAGE_DEFAULT),
      cursor: z.string().max(500).optional(),
    }),
    historyQuery: z
      .object({
        before: seqParam.optional(),
        after: seqParam.optional(),
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(limits.historyPageMax)
          .default(Math.min(HISTORY_PAGE_DEFAULT, limits.historyPageMax)),
      })
      .refine((q) => q.before === undefined || q.after === undefined, {
        message: "give before or after, not both",
        path: ["before"],
      }),
  };
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;

/** The host application's id for a user (a path parameter of the server API). */
export const externalIdSchema = (max: number) =>
  withRules(
    z.string().min(1, "must not be empty").max(max, `must be at most ${max} characters`),
    TOKEN_RULES,
  );

/** What a client sends (before the schema trims and normalizes it). */
export type RegisterRequest = z.input<RequestSchemas["register"]>;
export type LoginRequest = z.input<RequestSchemas["login"]>;
export type DeleteMeRequest = z.input<RequestSchemas["deleteMe"]>;
export type CreateConversationRequest = z.input<RequestSchemas["createConversation"]>;
export type AddParticipantsRequest = z.input<RequestSchemas["addParticipants"]>;
export type EditMessageRequest = z.input<RequestSchemas["editMessage"]>;
export type SendMessageRequest = z.input<RequestSchemas["sendMessage"]>;
export type RenameConversationRequest = z.input<RequestSchemas["renameConversation"]>;
export type ConversationSettingsRequest = z.input<RequestSchemas["conversationSettings"]>;
export type ServerCreateConversationRequest = z.input<RequestSchemas["serverCreateConversation"]>;
export type ServerMessageRequest = z.input<RequestSchemas["serverMessage"]>;
/** What the Worker works with once the schema accepted it. */
export type ServerUserBody = z.output<RequestSchemas["serverUser"]>;
export type HistoryQuery = z.output<RequestSchemas["historyQuery"]>;
