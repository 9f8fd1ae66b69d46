/**
 * The cursor of `GET /api/search`, opaque to clients: for each history shard searched, the rowid
 * the next page continues below (0: that shard has nothing more). Each shard is read in rowid
 * order, newest first (src/db/message-search.ts), so a page never repeats a result and never skips
 * one that existed when the search began, whatever arrives meanwhile: new messages get higher rowids.
 */
export type SearchCursor = ReadonlyMap<string, number>;

/** Shards one cursor may name: far more than any deployment binds. */
const MAX_SHARDS = 256;

const toBase64Url = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

export function encodeSearchCursor(cursor: SearchCursor): string {
  return toBase64Url(JSON.stringify(Object.fromEntries(cursor)));
}

/** The cursor, or null when `text` is not one this server wrote. */
export function decodeSearchCursor(text: string): SearchCursor | null {
  let value: unknown;
  try {
    value = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (entries.length === 0 || entries.length > MAX_SHARDS) return null;
  const cursor = new Map<string, number>();
  for (const [shard, position] of entries) {
    if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 0) return null;
    cursor.set(shard, position);
  }
  return cursor;
}
