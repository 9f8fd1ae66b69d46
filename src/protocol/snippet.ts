/**
 * The marks of a search result's snippet (API.md, "Search"): no zod here, so the web client can
 * read snippets without it.
 */

/** A match in `snippet` is written `[[` match `]]`. */
export const MATCH_OPEN = "[[";
export const MATCH_CLOSE = "]]";

/** A snippet as runs of text, each a match or not: what a client renders (as text, never HTML). */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  let at = 0;
  while (at < snippet.length) {
    const open = snippet.indexOf(MATCH_OPEN, at);
    const close = open < 0 ? -1 : snippet.indexOf(MATCH_CLOSE, open + MATCH_OPEN.length);
    if (open < 0 || close < 0) {
      parts.push({ text: snippet.slice(at), match: false });
      break;
    }
    if (open > at) parts.push({ text: snippet.slice(at, open), match: false });
    parts.push({ text: snippet.slice(open + MATCH_OPEN.length, close), match: true });
    at = close + MATCH_CLOSE.length;
  }
  return parts;
}
