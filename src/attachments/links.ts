import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The links files are served at. A message's `url` is signed for the person it is shown to:
 * `/api/conversations/:id/attachments/:attachmentId?u=<viewer>&e=<expiry>&s=<signature>`, the
 * signature an HMAC-SHA256 over the four values with a key derived from JWT_SECRET (the first
 * secret signs, every configured one verifies, as with tokens). A link only says who asks: the
 * download still checks that this person is a participant now, so a link someone kept after
 * leaving, or passed on, serves nothing. Expiries are rounded to windows of
 * ATTACHMENT_URL_TTL_SECONDS, so the same file gets the same link for a while (the browser's cache
 * works) and every link is valid for between one and two windows. Without a viewer (the inbox
 * listing's last message) the link is the bare path, served with the Bearer token.
 *
 * Synchronous (node:crypto, not WebCrypto): the room builds message views synchronously.
 */

export const filePath = (conversationId: string, attachmentId: string): string =>
  `/api/conversations/${conversationId}/attachments/${attachmentId}`;

/** What a signed link carries besides its path. */
export interface LinkParams {
  u: string;
  e: string;
  s: string;
}

const DOMAIN = "edge-chat attachment links v1";
const derived = new Map<string, Uint8Array>();

/** One key per secret, derived once per isolate; never the secret itself (it also signs tokens). */
function keyOf(secret: string): Uint8Array {
  let key = derived.get(secret);
  if (!key) {
    key = createHmac("sha256", secret).update(DOMAIN).digest();
    derived.set(secret, key);
  }
  return key;
}

const signature = (key: Uint8Array, c: string, a: string, u: string, e: string): string =>
  createHmac("sha256", key).update(`${c}\n${a}\n${u}\n${e}`).digest("base64url");

export class FileLinks {
  private readonly secrets: string[];

  constructor(
    /** The JWT_SECRET setting: one secret or several, comma-separated. */
    secretSetting: string | undefined,
    private readonly windowSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.secrets = (secretSetting ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** The file's link for `viewer`, or its bare path (served with the Bearer token) for nobody in particular. */
  url(conversationId: string, attachmentId: string, viewer: string | null): string {
    const path = filePath(conversationId, attachmentId);
    const [secret] = this.secrets;
    if (viewer === null || !secret) return path;
    const w = this.windowSeconds;
    const expires = String((Math.floor(this.now() / 1000 / w) + 2) * w);
    const s = signature(keyOf(secret), conversationId, attachmentId, viewer, expires);
    return `${path}?${new URLSearchParams({ u: viewer, e: expires, s })}`;
  }

  /** The viewer a signed link was made for, if its signature holds and it has not expired; else null. */
  verify(conversationId: string, attachmentId: string, params: LinkParams): string | null {
    const expires = Number(params.e);
    if (!/^\d{1,12}$/.test(params.e) || expires * 1000 <= this.now()) return null;
    const given = new TextEncoder().encode(params.s);
    for (const secret of this.secrets) {
      const expected = new TextEncoder().encode(
        signature(keyOf(secret), conversationId, attachmentId, params.u, params.e),
      );
      if (expected.length === given.length && timingSafeEqual(expected, given)) return params.u;
    }
    return null;
  }

  /** Seconds until a link made now stops working at the earliest: how long a browser may keep the file. */
  get cacheSeconds(): number {
    return this.windowSeconds;
  }
}
