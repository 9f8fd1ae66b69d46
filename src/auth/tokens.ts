import { SignJWT, jwtVerify } from "jose";
import { ApiError } from "../errors";

/** HS256 access tokens: `sub` is the user id; issuer, audience and expiry are always checked. */

/** 32 bytes of key material: HS256's own output size, and what `npm run dev` generates. */
export const MIN_SECRET_LENGTH = 32;

export interface TokenSettings {
  secret: string | undefined;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface VerifiedToken {
  userId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

const keys = new Map<string, Uint8Array>();

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

/** Refuses to work with a missing or weak secret rather than falling back to a default. */
function keyFor(secret: string | undefined): Uint8Array {
  const cached = secret === undefined ? undefined : keys.get(secret);
  if (cached) return cached;
  if (!secret || isWeak(secret)) {
    // A configuration fault, not the caller's: it surfaces as a 500 and is logged with the request id.
    throw new Error(
      `JWT_SECRET is missing, shorter than ${MIN_SECRET_LENGTH} characters, or not random; set it with \`wrangler secret put JWT_SECRET\``,
    );
  }
  const key = new TextEncoder().encode(secret);
  keys.set(secret, key);
  return key;
}

/** Throws unless the secret is usable; called by routes that will need it before doing any work. */
export function assertSecret(settings: TokenSettings): void {
  keyFor(settings.secret);
}

export async function issueToken(userId: string, settings: TokenSettings): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + settings.ttlSeconds)
    .sign(keyFor(settings.secret));
}

export async function verifyToken(token: string, settings: TokenSettings): Promise<VerifiedToken> {
  const key = keyFor(settings.secret);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ["sub", "exp", "iat"],
    });
    if (typeof payload.sub !== "string" || typeof payload.exp !== "number") throw new Error("claims");
    return { userId: payload.sub, expiresAt: payload.exp };
  } catch {
    throw new ApiError("unauthorized", "The access token is missing, malformed, expired or invalid");
  }
}
