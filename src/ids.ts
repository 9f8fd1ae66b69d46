const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A random id with a type prefix ("u_", "c_", "m_", "e_" for events, "a_" for attachments): 20 base-36 characters, about 103 bits. */
export function newId(prefix: "u" | "c" | "m" | "e" | "a"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let out = `${prefix}_`;
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
}

export const nowIso = (): string => new Date().toISOString();

/** The key of a pair's direct conversation in D1's directory ("<smaller id>:<larger id>"). */
export const directKeyOf = (a: string, b: string): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * The id of a pair's direct conversation, derived from the pair: whoever starts it, and however
 * many first requests race, they all reach the same room, which creates the conversation once.
 * Same shape as a random id (`c_` and 20 base-36 characters of a SHA-256 of the pair).
 */
export async function directConversationId(a: string, b: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`direct:${directKeyOf(a, b)}`)),
  );
  let out = "c_";
  for (const byte of digest.subarray(0, 20)) out += ALPHABET[byte % 36];
  return out;
}
