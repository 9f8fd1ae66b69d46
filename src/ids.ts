const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A random id with a type prefix ("u_", "c_", "m_"): 20 base-36 characters, about 103 bits. */
export function newId(prefix: "u" | "c" | "m"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let out = `${prefix}_`;
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
}

export const nowIso = (): string => new Date().toISOString();
