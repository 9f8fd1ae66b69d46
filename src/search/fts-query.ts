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

const quote = (text: string): string => `"${text.replaceAll('"', '""')}"`;

/**
 * The body part of the query, `{body} : ("word" "word" "pre"*)`, or null when `q` has no word at
 * all (only punctuation, symbols, emoji): such a query matches nothing, and is not sent.
 *
 * The last word is a prefix when its last token has at least `prefixMinChars` characters
 * (MESSAGE_SEARCH_PREFIX_MIN_CHARS; 0: never). FTS5 answers a prefix by merging the whole doclist
 * of every word that starts with it before the first result (the shard has no prefix index: it
 * would grow the index for every message), so a prefix costs in proportion to the shard: on
 * 100,000 messages the commonest word as a prefix took 20 ms of SQL against 0.5 ms as a word, and a
 * 1–2 character prefix 50 ms on 200,000.
 */
export function bodyMatch(q: string, prefixMinChars: number): string | null {
  const words = q.split(/\s+/).filter((w) => WORD_CHAR.test(w));
  if (words.length === 0) return null;
  const phrases = words.map((word, i) => {
    if (i < words.length - 1) return quote(word);
    // In a word such as "don't" the phrase's last token is "t": the prefix applies to it.
    const tokens = word.match(WORD_RUNS) ?? [];
    const last = tokens[tokens.length - 1] ?? "";
    const prefix = prefixMinChars > 0 && Array.from(last).length >= prefixMinChars;
    return prefix ? `${quote(word)}*` : quote(word);
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
