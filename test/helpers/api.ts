import { exports } from "cloudflare:workers";
import type { AuthResponse, Conversation, Me, Message } from "../../src/protocol/models";

export const BASE = "https://chat.test";

export interface ApiResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One request through the Worker's own fetch handler, as a client would send it. */
export async function api<T = any>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResult<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const res = await exports.default.fetch(new Request(BASE + path, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

let counter = 0;

export interface TestUser extends AuthResponse {
  /** An own account: it always has an email. */
  user: Me & { email: string };
  password: string;
}

/** Registers a fresh user with a unique email. */
export async function registerUser(firstName = "Ada", lastName = "Lovelace"): Promise<TestUser> {
  counter++;
  const email = `${firstName.toLowerCase()}.${counter}.${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery";
  const res = await api<AuthResponse>("POST", "/api/auth/register", {
    body: { email, password, firstName, lastName },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { ...res.body, user: { ...res.body.user, email }, password };
}

export async function startConversation(
  token: string,
  participantIds: string[],
  extra: { title?: string; body?: string; clientId?: string } = {},
): Promise<{ conversation: Conversation; message?: Message }> {
  const res = await api<{ conversation: Conversation; message?: Message }>("POST", "/api/conversations", {
    token,
    body: { participantIds, ...extra },
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.body;
}

export async function sendMessage(
  token: string,
  conversationId: string,
  body: string,
  clientId?: string,
): Promise<Message> {
  const res = await api<{ message: Message }>("POST", `/api/conversations/${conversationId}/messages`, {
    token,
    body: clientId === undefined ? { body } : { body, clientId },
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`send failed: ${res.status} ${res.text}`);
  return res.body.message;
}
