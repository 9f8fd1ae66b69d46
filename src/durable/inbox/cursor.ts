/**
 * The inbox listing's cursor: the (updatedAt, id) of the last conversation of a page, opaque to
 * clients. The format is the one the D1 listing used, so a cursor handed out before the listing
 * moved into the inbox object still pages on.
 */
export type InboxCursor = [updatedAt: string, conversationId: string];

export function encodeCursor(updatedAt: string, id: string): string {
  return btoa(JSON.stringify([updatedAt, id])).replace(/=+$/, "");
}

export function decodeCursor(cursor: string): InboxCursor | null {
  try {
    const value: unknown = JSON.parse(atob(cursor));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      typeof value[1] === "string"
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  return null;
}
