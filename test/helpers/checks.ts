import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { LEGACY_SHARD, shardDb } from "../../src/db/shards";
import { ERROR_STATUS } from "../../src/errors";
import { type ErrorCode, ErrorBodySchema } from "../../src/protocol/errors";
import { RoomEventSchema } from "../../src/protocol/frames";
import type { ApiResult } from "./api";

/** A stack frame, a runtime's HTML error page, or the secret, in a response body. */
const LEAK =
  /\bat (?:async )?[\w$.<>]*\s?\(?[\w/.:-]+\.(?:ts|js|mjs):\d+:\d+|<!doctype html|<html[\s>]|JWT_SECRET|test-secret-that/i;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A string safe to put in an assertion message: the pool's own socket refuses invalid UTF-8. */
export const safe = (text: string): string => text.replace(LONE_SURROGATE, "\ufffd");

/** A value for assertion messages: JSON, cut short, always valid UTF-8. */
export const show = (value: unknown, max = 300): string =>
  safe((JSON.stringify(value) ?? String(value)).slice(0, max));

export const REQUIRED_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": expect.stringContaining("default-src 'none'"),
} as const;

/** Security headers and a request id, on every answer that is not a WebSocket upgrade. */
export function expectHardenedHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(REQUIRED_HEADERS))
    expect(headers.get(name), name).toEqual(value);
  expect(headers.get("x-request-id")).toMatch(/^[\w-]{1,64}$/);
}

/**
 * A refusal in API.md's shape: a 4xx, JSON, `{error: {code, message, details?}}` with a code that
 * belongs to the status, no stack, and the security headers.
 */
export function expectApiError(res: ApiResult<any>, rawContext: string, status?: number): ErrorCode {
  const context = safe(rawContext);
  expect(res.status, `${context}: ${show(res.text)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${context}: ${show(res.text)}`).toBeLessThan(500);
  if (status !== undefined) expect(res.status, `${context}: ${show(res.text)}`).toBe(status);
  expect(res.headers.get("content-type"), context).toMatch(/^application\/json/);
  const parsed = ErrorBodySchema.strict().safeParse(res.body);
  expect(parsed.success, `${context}: error shape of ${show(res.text)}`).toBe(true);
  const code = res.body.error.code as ErrorCode;
  expect(ERROR_STATUS[code], `${context}: code ${code} with status ${res.status}`).toBe(res.status);
  expect(LEAK.test(res.text), `${context}: leaks ${show(res.text)}`).toBe(false);
  expectHardenedHeaders(res.headers);
  return code;
}

/** A socket `error` event of API.md: `{type: "error", code, message, clientId?}` and nothing else. */
export function expectErrorEvent(
  event: unknown,
  rawContext: string,
): { code: string; message: string; clientId?: string } {
  const context = safe(rawContext);
  const parsed = RoomEventSchema.safeParse(event);
  expect(parsed.success && parsed.data.type === "error", `${context}: ${show(event)}`).toBe(true);
  const e = event as { code: string; message: string; clientId?: string };
  expect(
    Object.keys(e).every((k) => ["type", "code", "message", "clientId"].includes(k)),
    context,
  ).toBe(true);
  expect(e.code in ERROR_STATUS, `${context}: code ${e.code}`).toBe(true);
  expect(e.code, context).not.toBe("internal");
  expect(LEAK.test(e.message), `${context}: leaks ${show(e.message)}`).toBe(false);
  return e;
}

const readTables = (db: D1Database, tables: string[]) =>
  db.batch(tables.map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY rowid`)));

/** Every row of every D1 table (the directory's, the default shard's): equal before and after means a request stored nothing. */
export async function d1Snapshot(): Promise<string> {
  const directory = await readTables(env.DB, ["users", "conversations", "participants"]);
  const history = await readTables(shardDb(env, LEGACY_SHARD), ["messages", "read_positions"]);
  return JSON.stringify([...directory, ...history].map((r) => r.results));
}

/** The figures the README's Security section quotes, printed once per file. */
export class Figures {
  private readonly counts = new Map<string, number>();

  constructor(private readonly file: string) {}

  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  print(): void {
    console.log(
      `[security-figures] ${JSON.stringify({ file: this.file, ...Object.fromEntries(this.counts) })}`,
    );
  }
}

/** A stack frame, or a "stack" field, in a response or a log line. */
export const STACK = /\bat (?:async )?[\w$.<>]*\s?\(?[\w/.:-]+\.(?:ts|js|mjs):\d+:\d+|"stack"/;

/** A 500 as API.md wants it: `internal`, the request id in the message and the header, nothing more. */
export function expectInternalError(res: ApiResult<any>, context: string): string {
  expect(res.status, `${context}: ${show(res.text)}`).toBe(500);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(res.body)).toEqual(["error"]);
  expect(res.body.error.code).toBe("internal");
  const requestId = res.headers.get("x-request-id") ?? "";
  expect(res.body.error.message).toBe(`Internal error (request id ${requestId})`);
  expect(res.text).not.toMatch(STACK);
  expectHardenedHeaders(res.headers);
  return requestId;
}
