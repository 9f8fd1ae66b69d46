import * as z from "zod";
import { BODY_RULES, withRules } from "./text";

/**
 * The query of `GET /api/search` (API.md, "v2 additions → Search"); its answer is in responses.ts
 * (`SearchPageSchema`), the marks of its snippets in snippet.ts.
 */

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
