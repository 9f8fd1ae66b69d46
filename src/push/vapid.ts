import { type CryptoKey, SignJWT, importJWK } from "jose";
import { decodeBase64Url } from "../protocol/push";

/** The server's Web Push identity (RFC 8292): a P-256 key pair and a contact for push services. */
export interface Vapid {
  /** The uncompressed public point, base64url without padding (what browsers subscribe with). */
  publicKey: string;
  /** The private scalar, base64url. */
  privateKey: string;
  /** mailto: or https: URL. */
  subject: string;
}

export type VapidResult = { ok: true; vapid: Vapid } | { ok: false; problem: string };

type VapidVars = Pick<Env, "VAPID_PUBLIC_KEY" | "VAPID_PRIVATE_KEY" | "VAPID_SUBJECT">;

const toBase64Url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/**
 * The VAPID settings, checked: without a usable pair and subject push is off, the push routes say
 * so (503) and delivery does nothing, while everything else works.
 */
export function vapidFrom(env: Partial<VapidVars>): VapidResult {
  let result = checked.get(env);
  if (!result) {
    result = check(env);
    checked.set(env, result);
  }
  return result;
}

const checked = new WeakMap<object, VapidResult>();

function check(env: Partial<VapidVars>): VapidResult {
  const pub = decodeBase64Url((env.VAPID_PUBLIC_KEY ?? "").trim());
  const priv = decodeBase64Url((env.VAPID_PRIVATE_KEY ?? "").trim());
  const subject = (env.VAPID_SUBJECT ?? "").trim();
  if (!pub || pub.length !== 65 || pub[0] !== 4)
    return { ok: false, problem: "VAPID_PUBLIC_KEY is missing or not a base64url P-256 public key" };
  if (!priv || priv.length !== 32)
    return { ok: false, problem: "VAPID_PRIVATE_KEY is missing or not a base64url P-256 private key" };
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject))
    return { ok: false, problem: "VAPID_SUBJECT must be a mailto: or https: URL" };
  return { ok: true, vapid: { publicKey: toBase64Url(pub), privateKey: toBase64Url(priv), subject } };
}

const signingKeys = new Map<string, Promise<CryptoKey>>();

function signingKey(vapid: Vapid): Promise<CryptoKey> {
  let key = signingKeys.get(vapid.privateKey);
  if (!key) {
    const point = decodeBase64Url(vapid.publicKey) ?? new Uint8Array();
    key = importJWK(
      {
        kty: "EC",
        crv: "P-256",
        x: toBase64Url(point.slice(1, 33)),
        y: toBase64Url(point.slice(33, 65)),
        d: vapid.privateKey,
      },
      "ES256",
    ) as Promise<CryptoKey>;
    // A failed import is not cached: the next push tries again.
    key.catch(() => signingKeys.delete(vapid.privateKey));
    signingKeys.set(vapid.privateKey, key);
  }
  return key;
}

/**
 * The `Authorization` header of RFC 8292: a JWT for the push service's origin, signed with the
 * private key, and the public key. Written here rather than taken from the push library, which
 * refuses plain-http endpoints, so that the same code signs for a local test push service.
 */
export async function vapidAuthorization(endpoint: URL, vapid: Vapid): Promise<string> {
  const token = await new SignJWT({})
    .setProtectedHeader({ typ: "JWT", alg: "ES256" })
    .setAudience(endpoint.origin)
    .setSubject(vapid.subject)
    // At most 24 hours (RFC 8292 §2); 12 leaves room for clock skew.
    .setExpirationTime(Math.floor(Date.now() / 1000) + 12 * 3600)
    .sign(await signingKey(vapid));
  return `vapid t=${token}, k=${vapid.publicKey}`;
}
