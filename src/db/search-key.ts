/**
 * The people search compares folded names: compatibility-normalized (NFKC: full-width letters and
 * ligatures as their plain forms), lower-cased in every script, runs of whitespace as one space.
 * A prefix of a folded name is a range of its index: `key >= q AND key < q + TOP`.
 */

/**
 * The highest code point. Removed from keys, so `q + TOP` sorts after every key that starts with q
 * (SQLite compares text as UTF-8 bytes, which is code point order).
 */
const TOP = "\u{10ffff}";

/**
 * The key of a row no search may find (a deleted account): a query never contains TOP, so every
 * prefix range, the empty one included, ends below it.
 */
export const UNSEARCHABLE_KEY = TOP;

export function searchKey(text: string): string {
  return text.normalize("NFKC").toLowerCase().replaceAll(TOP, "").replace(/\s+/g, " ").trim();
}

/** The bounds of every key that starts with `prefix` (already folded). */
export function prefixRange(prefix: string): { from: string; below: string } {
  return { from: prefix, below: prefix + TOP };
}

/** The two keys a user is found by: "first last" and "last first". */
export function nameKeys(firstName: string, lastName: string): { nameKey: string; nameKeyReversed: string } {
  return {
    nameKey: searchKey(`${firstName} ${lastName}`),
    nameKeyReversed: searchKey(`${lastName} ${firstName}`),
  };
}
