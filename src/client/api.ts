import {
  AttachmentResponseSchema,
  AuthResponseSchema,
  ConversationCreatedSchema,
  ConversationSchema,
  ErrorBodySchema,
  HistoryPageSchema,
  InboxPageSchema,
  MeSchema,
  MessageResponseSchema,
  RefreshResponseSchema,
  SearchPageSchema,
  TicketResponseSchema,
  UserListSchema,
  VapidKeyResponseSchema,
} from "../protocol/client-schemas";
import { type Schema, literal, object, string } from "../protocol/validate";
import type { ErrorCode, ErrorDetail } from "../protocol/errors";
import type {
  Attachment,
  AuthResponse,
  Conversation,
  Me,
  Message,
  RefreshResponse,
  TicketResponse,
  User,
} from "../protocol/models";
import type {
  AddParticipantsRequest,
  ConversationSettingsRequest,
  CreateConversationRequest,
  EditMessageRequest,
  LoginRequest,
  RegisterRequest,
  RenameConversationRequest,
} from "../protocol/requests";
import type { HistoryPage, InboxPage, SearchPage } from "../protocol/responses";

/**
 * The REST calls of API.md. Every response body is checked against the server's schemas, in the
 * form generated from them for the client (src/protocol/client-schemas.ts).
 */

const NoContent = literal(undefined);

/** A conversation's REST path, with the segments below it (each one encoded). */
const conversationPath = (id: string, ...below: string[]): string =>
  `/api/conversations/${[id, ...below].map(encodeURIComponent).join("/")}`;

/**
 * An API error: one of the server's codes, or a failure on this side (status 0 and "network" when
 * the server cannot be reached, "bad_response" when its answer is not of the schema).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "network" | "bad_response",
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The message for one form field, if the server named it. */
  detailFor(path: string): string | undefined {
    return this.details.find((d) => d.path === path)?.message;
  }
}

export class Api {
  constructor(
    private readonly token: () => string | null,
    /** Called on any 401 from an authenticated route: the session is over. */
    private readonly onUnauthorized: () => void,
  ) {}

  register(input: RegisterRequest): Promise<AuthResponse> {
    return this.call("POST", "/api/auth/register", AuthResponseSchema, input, false);
  }

  login(input: LoginRequest): Promise<AuthResponse> {
    return this.call("POST", "/api/auth/login", AuthResponseSchema, input, false);
  }

  /** The signed-in user; with `token`, the user that token belongs to (a token the host page handed over). */
  me(token?: string): Promise<Me> {
    return this.call("GET", "/api/me", MeSchema, undefined, token ?? true);
  }

  /** A new token for the same sign-in (own tokens only: 403 for an identity provider's). */
  refresh(): Promise<RefreshResponse> {
    return this.call("POST", "/api/auth/refresh", RefreshResponseSchema);
  }

  /** A single-use credential for one socket, so the token itself never goes into a URL. */
  wsTicket(): Promise<TicketResponse> {
    return this.call("POST", "/api/ws-ticket", TicketResponseSchema);
  }

  async searchUsers(q: string, limit = 20): Promise<User[]> {
    const params = new URLSearchParams({ q, limit: String(limit) });
    return (await this.call("GET", `/api/users?${params}`, UserListSchema)).users;
  }

  /** Full-text search of my conversations' messages, newest first (one of them with `conversationId`). */
  searchMessages(
    q: string,
    options: { cursor?: string | null; conversationId?: string; limit?: number } = {},
  ): Promise<SearchPage> {
    const params = new URLSearchParams({ q, limit: String(options.limit ?? 20) });
    if (options.cursor) params.set("cursor", options.cursor);
    if (options.conversationId) params.set("conversationId", options.conversationId);
    return this.call("GET", `/api/search?${params}`, SearchPageSchema);
  }

  inbox(cursor: string | null, limit = 30): Promise<InboxPage> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (cursor) params.set("cursor", cursor);
    return this.call("GET", `/api/conversations?${params}`, InboxPageSchema);
  }

  /** Opens the direct conversation with one user, or creates a group when a title is given. */
  async createConversation(participantIds: string[], title?: string): Promise<Conversation> {
    const body: CreateConversationRequest =
      title === undefined ? { participantIds } : { participantIds, title };
    return (await this.call("POST", "/api/conversations", ConversationCreatedSchema, body)).conversation;
  }

  conversation(id: string): Promise<Conversation> {
    return this.call("GET", conversationPath(id), ConversationSchema);
  }

  async leave(id: string): Promise<void> {
    await this.call("DELETE", conversationPath(id), NoContent);
  }

  addParticipants(id: string, userIds: string[]): Promise<Conversation> {
    return this.call("POST", conversationPath(id, "participants"), ConversationSchema, {
      userIds,
    } satisfies AddParticipantsRequest);
  }

  /** Groups only: a new title (null clears it). */
  rename(id: string, title: string | null): Promise<Conversation> {
    return this.call("PATCH", conversationPath(id), ConversationSchema, {
      title,
    } satisfies RenameConversationRequest);
  }

  /** The creator removes someone from a group (or anyone removes themselves). */
  async removeParticipant(id: string, userId: string): Promise<void> {
    const path = conversationPath(id, "participants", userId);
    await this.call("DELETE", path, NoContent);
  }

  setMuted(id: string, muted: boolean): Promise<Conversation> {
    return this.call("PATCH", conversationPath(id, "settings"), ConversationSchema, {
      muted,
    } satisfies ConversationSettingsRequest);
  }

  /** Adds (`active`) or takes back my reaction; the room's `reaction` event updates the counts. */
  async react(conversationId: string, messageId: string, emoji: string, active: boolean): Promise<void> {
    const path = conversationPath(conversationId, "messages", messageId, "reactions", emoji);
    await this.call(active ? "PUT" : "DELETE", path, NoContent);
  }

  /** DELETE /api/me: with my password, or none for an account of the host's identity provider. */
  async deleteAccount(password: string | undefined): Promise<void> {
    await this.call("DELETE", "/api/me", NoContent, password === undefined ? {} : { password });
  }

  async blocks(): Promise<User[]> {
    return (await this.call("GET", "/api/me/blocks", UserListSchema)).users;
  }

  async setBlocked(userId: string, blocked: boolean): Promise<void> {
    await this.call(blocked ? "POST" : "DELETE", `/api/users/${encodeURIComponent(userId)}/block`, NoContent);
  }

  history(id: string, cursor: { before?: number; after?: number }, limit = 50): Promise<HistoryPage> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (cursor.before !== undefined) params.set("before", String(cursor.before));
    if (cursor.after !== undefined) params.set("after", String(cursor.after));
    return this.call("GET", `${conversationPath(id, "messages")}?${params}`, HistoryPageSchema);
  }

  async editMessage(conversationId: string, messageId: string, body: string): Promise<Message> {
    const path = conversationPath(conversationId, "messages", messageId);
    return (await this.call("PATCH", path, MessageResponseSchema, { body } satisfies EditMessageRequest))
      .message;
  }

  async deleteMessage(conversationId: string, messageId: string): Promise<void> {
    const path = conversationPath(conversationId, "messages", messageId);
    await this.call("DELETE", path, NoContent);
  }

  /**
   * Uploads a file to a conversation (XMLHttpRequest: fetch reports no upload progress), telling
   * `onProgress` the fraction sent; `abort` stops it.
   */
  upload(
    conversationId: string,
    file: Blob,
    name: string,
    onProgress: (fraction: number) => void,
  ): { done: Promise<Attachment>; abort: () => void } {
    const xhr = new XMLHttpRequest();
    const done = new Promise<Attachment>((resolve, reject) => {
      const query = new URLSearchParams({ name });
      xhr.open("POST", `${conversationPath(conversationId, "attachments")}?${query}`);
      const token = this.token();
      if (token) xhr.setRequestHeader("authorization", `Bearer ${token}`);
      xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.addEventListener("error", () => reject(offline()));
      xhr.addEventListener("abort", () => reject(new ApiError(0, "network", "Cancelled")));
      // The answer parsed as JSON (null when it is not JSON: judged by the status).
      xhr.responseType = "json";
      xhr.addEventListener("load", () => {
        try {
          resolve(this.answer(xhr.status, xhr.response, AttachmentResponseSchema, true).attachment);
        } catch (err) {
          reject(err);
        }
      });
      xhr.send(file);
    });
    return { done, abort: () => xhr.abort() };
  }

  vapidPublicKey(): Promise<{ key: string }> {
    return this.call("GET", "/api/push/vapid-public-key", VapidKeyResponseSchema);
  }

  async savePushSubscription(subscription: {
    endpoint: string;
    keys: { p256dh: string; auth: string };
  }): Promise<void> {
    await this.call("POST", "/api/push/subscriptions", object({ endpoint: string() }), subscription);
  }

  /** `auth`: true sends the session's token, a string sends that token (its 401 signs nobody out). */
  private async call<T>(
    method: string,
    path: string,
    schema: Schema<T>,
    body?: unknown,
    auth: boolean | string = true,
  ): Promise<T> {
    const headers = new Headers({ accept: "application/json" });
    const token = auth === true ? this.token() : auth === false ? null : auth;
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (body !== undefined) headers.set("content-type", "application/json");
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw offline();
    }
    if (res.status === 204) return schema.parse(undefined);
    return this.answer(res.status, await res.json().catch(() => null), schema, auth === true);
  }

  /** A response's body (`raw`, null if not JSON) checked against `schema`, or the ApiError it says. */
  private answer<T>(status: number, raw: unknown, schema: Schema<T>, signsOut: boolean): T {
    if (status < 200 || status > 299) {
      if (status === 401 && signsOut) this.onUnauthorized();
      throw errorOf(status, raw);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new ApiError(status, "bad_response", "The server sent an unexpected answer");
    return parsed.data;
  }
}

const offline = () => new ApiError(0, "network", "Cannot reach the server. Check your connection.");

/** The server's error body as an ApiError (or a plain one naming the status). */
function errorOf(status: number, raw: unknown): ApiError {
  const parsed = ErrorBodySchema.safeParse(raw);
  if (!parsed.success) return new ApiError(status, "internal", `The server answered ${status}`);
  const { code, message, details } = parsed.data.error;
  return new ApiError(status, code, message, details);
}
