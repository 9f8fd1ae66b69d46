import * as z from "zod";
import { MessageSchema } from "./models";
import { BODY_RULES, withRules } from "./text";

/**
 * Message search (API.md, "v2 additions → Search"), typed once: the query of `GET /api/search`,
 * its answer, and the highlight marks of a snippet, shared by the Worker, the web client and the
 * tests.
 */

/** A match in `snippet` is written `[[` match `]]`. */
export const MATCH_OPEN = "[[";
export const MATCH_CLOSE = "]]";

export interface SearchLimits {
  /** MESSAGE_SEARCH_MAX_CHARS: the longest `q` (after trimming). */
  messageSearchMaxChars: number;
  /** MESSAGE_SEARCH_PAGE_MAX: the largest `limit`. */
  messageSearchPageMax: number;
}

const PAGE_DEFAULT = 20;

export function searchQuerySchema(limits: SearchLimits) {
  const max = limits.messageSearchMaxChars;
  const pageMax = limits.messageSearchPageMax;
  return z.object({
    q: withRules(
      z
        .string({ error: "q is required" })
        .trim()
        .min(1, "q must not be empty")
        .max(max, `q must be at most ${max} characters`),
      BODY_RULES,
    ),
    /** Only this conversation (404 unless the caller is in it). */
    conversationId: z.string().min(1).max(64).optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(pageMax, `limit must be at most ${pageMax}`)
      .default(Math.min(PAGE_DEFAULT, pageMax)),
    cursor: z.string().max(4000).optional(),
  });
}

export type SearchQuery = z.output<ReturnType<typeof searchQuerySchema>>;

/** The conversation of a result, as briefly as API.md has it. */
export const SearchConversationSchema = z.object({
  id: z.string(),
  kind: z.enum(["direct", "group"]),
  title: z.string().nullable(),
});
export type SearchConversation = z.infer<typeof SearchConversationSchema>;

export const SearchResultSchema = z.object({
  message: MessageSchema,
  conversation: SearchConversationSchema,
  /**
   * A part of the body around the matches, each match marked `[[`…`]]`. A `[` or `]` of the text
   * next to another or to a mark is followed (or preceded) by U+200B ZERO WIDTH SPACE, so every
   * `[[` and `]]` in a snippet is a mark.
   */
  snippet: z.string(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

/** `GET /api/search`: newest first; `nextCursor` is opaque, null on the last page. */
export const SearchPageSchema = z.object({
  results: z.array(SearchResultSchema),
  nextCursor: z.string().nullable(),
});
export type SearchPage = z.infer<typeof SearchPageSchema>;

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
