import { SNIPPET_CLOSE, SNIPPET_OPEN } from "../db/message-search";
import { MATCH_CLOSE, MATCH_OPEN } from "../protocol/snippet";

const ZWSP = "\u200b";

/**
 * FTS5's snippet (matches between control characters) with API.md's marks, `[[`match`]]`. The
 * text's own brackets could forge or break a mark ("[[", or "[" just before a match), so a `[`
 * followed by `[` or a match, and a `]` preceded by `]` or a match's end, get a zero-width space
 * on that side: every `[[` and `]]` left in the snippet is a mark, and it reads the same.
 */
export function markSnippet(raw: string): string {
  const escaped = raw
    .replace(new RegExp(`\\[(?=[\\[${SNIPPET_OPEN}])`, "g"), `[${ZWSP}`)
    .replace(new RegExp(`(?<=[\\]${SNIPPET_CLOSE}])\\]`, "g"), `${ZWSP}]`);
  return escaped.replaceAll(SNIPPET_OPEN, MATCH_OPEN).replaceAll(SNIPPET_CLOSE, MATCH_CLOSE);
}
