/**
 * Single-use socket tickets, kept in the user's own UserInbox object: one object per user is one
 * consistent place to check that a ticket is used once. Stored in the object's synchronous KV
 * storage, so taking a ticket (read and delete) cannot interleave with another request for it.
 * Nothing sweeps them on a timer: minting drops the expired ones and keeps at most `max`, so a user
 * never holds more than that however many they request.
 */

const PREFIX = "ws-ticket:";

interface StoredTicket {
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The expiry of the token the ticket was minted from (seconds): the socket's own expiry. */
  tokenExp: number;
}

export interface MintedTicket {
  secret: string;
  /** Seconds. */
  expiresIn: number;
}

function randomSecret(): string {
  let s = "";
  for (const b of crypto.getRandomValues(new Uint8Array(24))) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_");
}

function isStoredTicket(value: unknown): value is StoredTicket {
  const v = value as Partial<StoredTicket> | undefined;
  return typeof v?.expiresAt === "number" && typeof v.tokenExp === "number";
}

export function mintTicket(
  kv: SyncKvStorage,
  options: { tokenExp: number; ttlSeconds: number; max: number },
  now = Date.now(),
): MintedTicket {
  const live: [string, number][] = [];
  for (const [key, value] of kv.list<unknown>({ prefix: PREFIX })) {
    if (!isStoredTicket(value) || value.expiresAt <= now) kv.delete(key);
    else live.push([key, value.expiresAt]);
  }
  live.sort((a, b) => a[1] - b[1]);
  for (const [key] of live.slice(0, Math.max(0, live.length - options.max + 1))) kv.delete(key);
  // Never valid past the token it stands for.
  const expiresAt = Math.min(now + options.ttlSeconds * 1000, options.tokenExp * 1000);
  const secret = randomSecret();
  kv.put(PREFIX + secret, { expiresAt, tokenExp: options.tokenExp } satisfies StoredTicket);
  return { secret, expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)) };
}

/** The ticket's token expiry if it exists and has not expired; it is gone afterwards either way. */
export function redeemTicket(
  kv: SyncKvStorage,
  secret: string,
  now = Date.now(),
): { tokenExp: number } | null {
  const key = PREFIX + secret;
  const value = kv.get<unknown>(key);
  if (value === undefined) return null;
  kv.delete(key);
  if (!isStoredTicket(value) || value.expiresAt <= now) return null;
  return { tokenExp: value.tokenExp };
}

/** Every ticket of the user, used or not (their account was deleted). */
export function dropTickets(kv: SyncKvStorage): void {
  for (const [key] of kv.list({ prefix: PREFIX })) kv.delete(key);
}
