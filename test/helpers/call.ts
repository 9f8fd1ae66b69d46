import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { app } from "../../src/app";
import { BASE, type ApiResult } from "./api";

/**
 * One request through the Hono app that the Worker's default export serves (src/index.ts), with the
 * test env or a changed copy of it. The fuzz loops send thousands of requests: through
 * `exports.default.fetch`, vitest-pool-workers 0.23 re-imports the main module for every call and
 * each call gets slower (5 ms at first, 300 ms after 500 calls), so bulk traffic comes this way.
 * Background work (`waitUntil`) is finished before the result is returned.
 */
export async function call<T = any>(
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string | ReadableStream<Uint8Array>;
    headers?: Record<string, string>;
    env?: Partial<Env>;
  } = {},
): Promise<ApiResult<T>> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  let body: string | ReadableStream<Uint8Array> | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(BASE + path, { method, headers, body }),
    { ...env, ...options.env },
    ctx,
  );
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** What an upgrade request got: 101 (the socket was accepted and closed at once) or an error body. */
export interface Outcome {
  status: number;
  body: any;
  text: string;
  headers: Headers | null;
}

/**
 * A WebSocket upgrade through the Worker's fetch handler (or, with `env`, through the same app with
 * changed settings). The token goes in the query, as browsers send it.
 */
export async function upgrade(
  path: string,
  options: { token?: string; origin?: string; env?: Partial<Env> } = {},
): Promise<Outcome> {
  const url = new URL(BASE + path);
  if (options.token !== undefined) url.searchParams.set("access_token", options.token);
  const headers = new Headers({ upgrade: "websocket" });
  if (options.origin) headers.set("origin", options.origin);
  const request = new Request(url, { headers });
  const res = options.env
    ? await app.fetch(request, { ...env, ...options.env }, createExecutionContext())
    : await exports.default.fetch(request);
  if (res.status === 101 && res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "done");
    return { status: 101, body: null, text: "", headers: null };
  }
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text, headers: res.headers };
}
