/**
 * Every route of the Worker's Hono app, described once: the OpenAPI document (document.ts) and the
 * reference page (page.ts) are built from this table, and test/http/openapi.test.ts fails when the
 * app serves a route that is missing here, or this table lists one the app does not serve.
 * A new route: add an entry here (its request and response schemas by name, see schemas.ts).
 */
import type { RequestComponent, ResponseComponent } from "./schemas";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call: a user's token, a user's token or socket ticket (WebSockets), a user's token or a
 * link signed for them (files), a server key, anyone.
 */
export type Access = "user" | "socket" | "file" | "server" | "public";

export interface Operation {
  method: Method;
  /** The path as Hono writes it (`:id`); the document writes `{id}`. */
  path: string;
  tag: string;
  summary: string;
  access: Access;
  /** The JSON body, by component name. */
  body?: RequestComponent;
  /** The query string, by component name (an object schema: each property is one parameter). */
  query?: RequestComponent;
  /** Status → response body by component name, or null for an empty body (204, 101). */
  responses: Partial<Record<number, ResponseComponent | null>>;
  /** A file instead of JSON: the request's body (an upload) or the 200's (a download). */
  file?: "request" | "response";
}

const op = (
  method: Method,
  path: string,
  tag: string,
  summary: string,
  access: Access,
  responses: Operation["responses"],
  extra: Pick<Operation, "body" | "query" | "file"> = {},
): Operation => ({ method, path, tag, summary, access, responses, ...extra });

const C = "/api/conversations";
const ONE = `${C}/:id`;

export const OPERATIONS: readonly Operation[] = [
  op("get", "/healthz", "Service", "Liveness: the Worker answers", "public", { 200: "Health" }),
  op("get", "/api/openapi.json", "Service", "This OpenAPI 3.1 document", "public", { 200: "Json" }),
  op(
    "get",
    "/api/protocol.json",
    "Service",
    "The WebSocket protocol: frames, events, close codes",
    "public",
    {
      200: "Json",
    },
  ),
  op("get", "/api/docs", "Service", "The reference page (HTML) of both documents", "public", { 200: null }),

  op(
    "post",
    "/api/auth/register",
    "Auth",
    "Create an account with a password",
    "public",
    { 201: "Auth" },
    {
      body: "RegisterRequest",
    },
  ),
  op(
    "post",
    "/api/auth/login",
    "Auth",
    "Sign in with email and password",
    "public",
    { 200: "Auth" },
    {
      body: "LoginRequest",
    },
  ),
  op("post", "/api/auth/refresh", "Auth", "A fresh token for the same sign-in", "user", { 200: "Refresh" }),
  op("post", "/api/ws-ticket", "Auth", "A single-use ticket to open one socket", "user", { 200: "Ticket" }),

  op("get", "/api/me", "Users", "The caller's own profile", "user", { 200: "Me" }),
  op(
    "patch",
    "/api/me",
    "Users",
    "Change the caller's profile",
    "user",
    { 200: "Me" },
    {
      body: "UpdateMeRequest",
    },
  ),
  op(
    "delete",
    "/api/me",
    "Users",
    "Delete the caller's account: its messages become tombstones, its tokens stop working (403 for a wrong password, or a sign-in too old for an account without one)",
    "user",
    { 204: null },
    { body: "DeleteMeRequest" },
  ),
  op("get", "/api/me/export", "Users", "Everything kept about the caller (API.md, Your data)", "user", {
    200: "UserExport",
  }),
  op("get", "/api/me/blocks", "Users", "The people the caller blocked", "user", { 200: "UserList" }),
  op(
    "get",
    "/api/users",
    "Users",
    "Search people by name or email",
    "user",
    { 200: "UserList" },
    {
      query: "UserSearchQuery",
    },
  ),
  op("get", "/api/users/:id", "Users", "One person's public profile", "user", { 200: "User" }),
  op("post", "/api/users/:id/block", "Users", "Block a person (told to nobody)", "user", { 204: null }),
  op("delete", "/api/users/:id/block", "Users", "Unblock a person", "user", { 204: null }),

  op(
    "get",
    C,
    "Conversations",
    "The caller's inbox, newest activity first",
    "user",
    { 200: "InboxPage" },
    {
      query: "InboxQuery",
    },
  ),
  op(
    "post",
    C,
    "Conversations",
    "Start a conversation (200: the direct one that existed)",
    "user",
    { 200: "ConversationCreated", 201: "ConversationCreated" },
    { body: "CreateConversationRequest" },
  ),
  op("get", ONE, "Conversations", "One conversation, everyone in it", "user", { 200: "Conversation" }),
  op(
    "patch",
    ONE,
    "Conversations",
    "Rename a group (null clears the title)",
    "user",
    { 200: "Conversation" },
    {
      body: "RenameConversationRequest",
    },
  ),
  op("delete", ONE, "Conversations", "Leave a group, or hide a direct conversation", "user", { 204: null }),
  op(
    "patch",
    `${ONE}/settings`,
    "Conversations",
    "The caller's settings (mute)",
    "user",
    { 200: "Conversation" },
    {
      body: "ConversationSettingsRequest",
    },
  ),
  op(
    "post",
    `${ONE}/participants`,
    "Conversations",
    "Add people to a group",
    "user",
    { 200: "Conversation" },
    {
      body: "AddParticipantsRequest",
    },
  ),
  op("delete", `${ONE}/participants/:userId`, "Conversations", "Remove someone (the creator only)", "user", {
    204: null,
  }),
  op(
    "post",
    `${ONE}/read`,
    "Conversations",
    "Mark read up to a seq",
    "user",
    { 204: null },
    {
      body: "MarkReadRequest",
    },
  ),
  op("get", `${ONE}/ws`, "Sockets", "Open the conversation's socket (see protocol.json)", "socket", {
    101: null,
  }),

  op(
    "get",
    `${ONE}/messages`,
    "Messages",
    "A page of history, ascending by seq",
    "user",
    { 200: "HistoryPage" },
    {
      query: "HistoryQuery",
    },
  ),
  op(
    "post",
    `${ONE}/messages`,
    "Messages",
    "Send a message (200: the clientId was sent before)",
    "user",
    { 200: "MessageResponse", 201: "MessageResponse" },
    { body: "SendMessageRequest" },
  ),
  op(
    "patch",
    `${ONE}/messages/:messageId`,
    "Messages",
    "Edit one's own message",
    "user",
    {
      200: "MessageResponse",
    },
    { body: "EditMessageRequest" },
  ),
  op("delete", `${ONE}/messages/:messageId`, "Messages", "Delete one's own message (a tombstone)", "user", {
    204: null,
  }),
  op(
    "post",
    `${ONE}/attachments`,
    "Messages",
    "Upload a file to send with a message (the body is the file, its type the content-type)",
    "user",
    { 201: "AttachmentResponse" },
    { query: "AttachmentUploadQuery", file: "request" },
  ),
  op(
    "get",
    `${ONE}/attachments/:attachmentId`,
    "Messages",
    "Download a file: a participant's link (a message's url) or token",
    "file",
    { 200: null },
    { query: "AttachmentLinkQuery", file: "response" },
  ),
  op("put", `${ONE}/messages/:messageId/reactions/:emoji`, "Messages", "React with an emoji", "user", {
    204: null,
  }),
  op("delete", `${ONE}/messages/:messageId/reactions/:emoji`, "Messages", "Take a reaction back", "user", {
    204: null,
  }),

  op(
    "get",
    "/api/search",
    "Messages",
    "Full-text search of the caller's conversations, newest first; matches marked [[…]]",
    "user",
    { 200: "SearchPage" },
    { query: "MessageSearchQuery" },
  ),

  op("get", "/api/inbox/ws", "Sockets", "Open the caller's inbox socket (see protocol.json)", "socket", {
    101: null,
  }),

  op("get", "/api/push/vapid-public-key", "Push", "The VAPID public key for subscribing", "user", {
    200: "VapidKey",
  }),
  op(
    "post",
    "/api/push/subscriptions",
    "Push",
    "Subscribe this browser to Web Push",
    "user",
    {
      201: "PushSubscribed",
    },
    { body: "PushSubscribeRequest" },
  ),
  op(
    "delete",
    "/api/push/subscriptions",
    "Push",
    "Unsubscribe an endpoint",
    "user",
    { 204: null },
    {
      body: "PushUnsubscribeRequest",
    },
  ),

  op(
    "put",
    "/api/server/users/:externalId",
    "Server API",
    "Create (201) or replace (200) a user",
    "server",
    {
      200: "Me",
      201: "Me",
    },
    { body: "ServerUserRequest" },
  ),
  op("post", "/api/server/users/:externalId/tokens", "Server API", "A token for the user", "server", {
    200: "MintedToken",
  }),
  op(
    "post",
    "/api/server/conversations",
    "Server API",
    "Start a conversation for `createdBy` (200: the direct one that existed)",
    "server",
    { 200: "ConversationCreated", 201: "ConversationCreated" },
    { body: "ServerCreateConversationRequest" },
  ),
  op(
    "post",
    "/api/server/conversations/:id/messages",
    "Server API",
    "Post as `senderId`, or without it a system message (200: a replayed clientId)",
    "server",
    { 200: "MessageResponse", 201: "MessageResponse" },
    { body: "ServerMessageRequest" },
  ),
];
