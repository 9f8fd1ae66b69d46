/**
 * Reading frames, with any schema that has `safeParse` (zod's full schemas on the server and in the
 * tests, the zod/mini ones of `mini.ts` in the web client). No zod import: the client's bundle gets
 * these without the full library.
 */
export interface SafeParser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false };
}

/** Parses one text frame: the value, or null when it is not JSON or not of the schema. */
export function parseFrame<T>(schema: SafeParser<T>, text: string): T | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const result = schema.safeParse(raw);
  return result.success ? result.data : null;
}

/**
 * Parses one server frame into its events: a single event, or, on a conversation socket opened with
 * `?batch=1`, a JSON array of the events committed together. Null when anything in it is invalid.
 */
export function parseFrames<T>(schema: SafeParser<T>, text: string): T[] | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  const out: T[] = [];
  for (const item of items) {
    const result = schema.safeParse(item);
    if (!result.success) return null;
    out.push(result.data);
  }
  return out;
}

/** The bare keep-alive frames, answered by the runtime without waking a hibernated object. */
export const PING = "ping";
export const PONG = "pong";
