import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { listSetting } from "../config";
import { ApiError } from "../errors";

/**
 * The service's own HS256 access tokens: `sub` is the user id; issuer, audience and expiry are always
 * checked. JWT_SECRET holds one or more comma-separated secrets: the first signs, every one verifies,
 * so a rotation signs nobody out. Each token names its secret with a `kid` derived from it; tokens
 * from before kids existed are tried against every configured secret.
 */

/** 32 bytes of key material: HS256's own output size, and what `npm run dev` generates. */
export const MIN_SECRET_LENGTH = 32;

export interface TokenSettings {
  /** The JWT_SECRET setting: one secret, or several separated by commas. */
  secret: string | undefined;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface VerifiedToken {
  userId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** How the caller proved who they are: an own token, the identity provider's, or a socket ticket. */
  source: "own" | "external" | "ticket";
  /**
   * When the sign-in the token descends from happened (seconds): own tokens carry it across
   * refreshes; a provider's token says it (`auth_time`, else `iat`). Tickets have none.
   */
  authTime?: number | undefined;
}

/** Values published in the repository (.dev.vars.example): anyone could sign tokens with them. */
const PUBLISHED_SECRETS = new Set(["replace-with-at-least-32-random-characters"]);

/** Fewer distinct characters than this is a pattern ("aaaa…", "abababab…"), not random key material. */
const MIN_DISTINCT_CHARS = 8;

function isWeak(secret: string): boolean {
  return (
    secret.length < MIN_SECRET_LENGTH ||
    new Set(secret).size < MIN_DISTINCT_CHARS ||
    PUBLISHED_SECRETS.has(secret)
  );
}

interface Key {
  kid: string;
  /**
   * The secret as an HMAC key, imported once per isolate: jose imports raw bytes again on every
   * call, a tenth of the Worker's CPU per socket when 2,000 clients join a room.
   */
  material: CryptoKey;
}

/** The configured secrets, signing key first. */
interface Keyring {
  keys: Key[];
  byKid: Map<string, Key>;
}

const keyrings = new Map<string, Promise<Keyring>>();

/** Refuses to work with a missing or weak secret rather than falling back to a default. */
function secretsOf(setting: string | undefined): string[] {
  const secrets = listSetting(setting);
  if (secrets.length === 0 || secrets.some(isWeak)) {
    // A configuration fault, not the caller's: it surfaces as a 500 and is logged with the request id.
    throw new Error(
      `JWT_SECRET is missing, or one of its secrets is shorter than ${MIN_SECRET_LENGTH} characters or not random; set it with \`wrangler secret put JWT_SECRET\``,
    );
  }
  return secrets;
}

/**
 * A secret's key id: the start of a SHA-256 of it. Operators name nothing, and a kid reveals no more
 * about the secret than the token's own HMAC does.
 */
async function kidOf(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edge-chat/kid/${secret}`));
  let s = "";
  for (const b of new Uint8Array(digest).subarray(0, 12)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_");
}

function keyringFor(setting: string | undefined): Promise<Keyring> {
  const secrets = secretsOf(setting);
  const cacheKey = secrets.join("\n");
  let ring = keyrings.get(cacheKey);
  if (!ring) {
    ring = Promise.all(
      secrets.map(async (secret) => ({
        kid: await kidOf(secret),
        material: await crypto.subtle.importKey(
          "raw",
          new TextEncoder().encode(secret),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign", "verify"],
        ),
      })),
    ).then((keys) => ({ keys, byKid: new Map(keys.map((k) => [k.kid, k])) }));
    keyrings.set(cacheKey, ring);
  }
  return ring;
}

/** Throws unless the secrets are usable; called by routes that will need them before doing any work. */
export function assertSecret(settings: TokenSettings): void {
  secretsOf(settings.secret);
}

export async function issueToken(
  userId: string,
  settings: TokenSettings,
  options: { authTime?: number } = {},
): Promise<{ token: string; expiresAt: number }> {
  const { keys } = await keyringFor(settings.secret);
  const signing = keys[0];
  if (!signing) throw new Error("JWT_SECRET has no secret");
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + settings.ttlSeconds;
  const token = await new SignJWT({ auth_time: options.authTime ?? now })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: signing.kid })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(signing.material);
  return { token, expiresAt };
}

const unauthorized = () =>
  new ApiError("unauthorized", "The access token is missing, malformed, expired or invalid");

export async function verifyToken(token: string, settings: TokenSettings): Promise<VerifiedToken> {
  const ring = await keyringFor(settings.secret);
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw unauthorized();
  }
  // A kid names one secret (an unknown one: a secret retired since); no kid: a token from before.
  const candidates = kid === undefined ? ring.keys : [ring.byKid.get(String(kid))].filter((k) => k);
  for (const key of candidates) {
    if (!key) continue;
    try {
      const { payload } = await jwtVerify(token, key.material, {
        algorithms: ["HS256"],
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ["sub", "exp", "iat"],
      });
      if (typeof payload.sub !== "string" || typeof payload.exp !== "number") break;
      const authTime = typeof payload.auth_time === "number" ? payload.auth_time : payload.iat;
      return { userId: payload.sub, expiresAt: payload.exp, source: "own", authTime };
    } catch (err) {
      // Only a signature made with another secret is worth trying the next one.
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) break;
    }
  }
  throw unauthorized();
}
