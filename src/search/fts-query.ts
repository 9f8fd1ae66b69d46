/**
 * A search box's text as an FTS5 query (src/db/message-search.ts). Nothing a person types is FTS5
 * syntax: every whitespace-separated word becomes an FTS5 string (double quotes, inner quotes
 * doubled), so `"`, `*`, `NEAR(`, `OR`, `AND`, `-`, `:`, `^` and parentheses are just text, which
 * the tokenizer then splits as it splits the bodies. The words must all match (FTS5's implicit
 * AND), and the last one also matches as a prefix when it is long enough, for search as you type.
 */

/** A letter or a digit: what the shard's tokenizer (unicode61) keeps; everything else separates. */
const WORD_CHAR = /[\p{L}\p{N}]/u;
const WORD_RUNS = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * The last word matches as a prefix from this many characters on. A shorter prefix expands to a
 * large part of the vocabulary: on 200,000 messages a 1–2 character prefix took about 50 ms,
 * 3 characters about 3 ms (the shard has no prefix index: it would grow the index for every message).
 */
export const PREFIX_MIN_CHARS = 3;

const quote = (text: string): string => `"${text.replaceAll('"', '""')}"`;

/**
 * The body part of the query, `{body} : ("word" "word" "pre"*)`, or null when `q` has no word at
 * all (only punctuation, symbols, emoji): such a query matches nothing, and is not sent.
 */
export function bodyMatch(q: string): string | null {
  const words = q.split(/\s+/).filter((w) => WORD_CHAR.test(w));
  if (words.length === 0) return null;
  const phrases = words.map((word, i) => {
    if (i < words.length - 1) return quote(word);
    // In a word such as "don't" the phrase's last token is "t": the prefix applies to it.
    const tokens = word.match(WORD_RUNS) ?? [];
    const last = tokens[tokens.length - 1] ?? "";
    return Array.from(last).length >= PREFIX_MIN_CHARS ? `${quote(word)}*` : quote(word);
  });
  return `{body} : (${phrases.join(" ")})`;
}

const CONVERSATION_ID = /^c_([0-9a-z]+)$/;

/**
 * Keeps the query to these conversations inside the index: `{conversation_id} : ("…" OR "…")`.
 * The tokenizer splits an id `c_<20 characters>` into "c" and the 20 characters, which alone name
 * the conversation, so only they are matched (every row has the token "c").
 */
export function conversationMatch(conversationIds: readonly string[]): string {
  const terms = conversationIds.map((id) => quote(CONVERSATION_ID.exec(id)?.[1] ?? id));
  return `{conversation_id} : (${terms.join(" OR ")})`;
}
