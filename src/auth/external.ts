import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, errors, jwtVerify } from "jose";
import type { Limits } from "../config";
import type { ExternalAuthSettings } from "./external-settings";
import { ApiError } from "../errors";

/**
 * Tokens signed by the host application's identity provider, verified against its JWKS. The key set
 * is fetched once per isolate and cached by jose (EXTERNAL_JWKS_CACHE_SECONDS); a token naming a kid
 * the cache lacks refetches it at most once per EXTERNAL_JWKS_COOLDOWN_SECONDS, so a new signing key
 * is picked up at once while a flood of made-up kids cannot hammer the provider.
 *
 * What is refused (401): any algorithm outside EXTERNAL_JWT_ALGORITHMS (which only admits
 * asymmetric ones, so an HS256 token "signed" with the provider's public key and `alg: none` never
 * verify), a token without `kid` when several keys could match it, another issuer or audience, and
 * a token without `sub` or `exp`.
 */

export interface ExternalToken {
  externalId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  claims: JWTPayload;
}

const keySets = new Map<string, JWTVerifyGetKey>();

function keySetFor(settings: ExternalAuthSettings, limits: Limits): JWTVerifyGetKey {
  const cacheMaxAge = limits.externalJwksCacheSeconds * 1000;
  const cooldownDuration = limits.externalJwksCooldownSeconds * 1000;
  const timeoutDuration = limits.externalJwksTimeoutMs;
  const key = `${settings.jwksUrl.href} ${cacheMaxAge} ${cooldownDuration} ${timeoutDuration}`;
  let set = keySets.get(key);
  if (!set) {
    set = createRemoteJWKSet(settings.jwksUrl, { cacheMaxAge, cooldownDuration, timeoutDuration });
    keySets.set(key, set);
  }
  return set;
}

/**
 * The provider could not be asked (down, slow, a JWKS that is not one): not the caller's fault, so a
 * 500 with the reason in the log rather than a 401 that would sign them out.
 */
function providerUnavailable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  // jose's plain JOSEError: "Expected 200 OK from the JSON Web Key Set HTTP response" and the like.
  if (err instanceof errors.JOSEError) return err.code === "ERR_JOSE_GENERIC";
  // fetch() itself failed.
  return err instanceof TypeError;
}

export async function verifyExternalToken(
  token: string,
  settings: ExternalAuthSettings,
  limits: Limits,
): Promise<ExternalToken> {
  try {
    const { payload } = await jwtVerify(token, keySetFor(settings, limits), {
      algorithms: settings.algorithms,
      issuer: settings.issuer,
      ...(settings.audience.length > 0 ? { audience: settings.audience } : {}),
      requiredClaims: ["sub", "exp"],
    });
    const sub = payload.sub;
    if (typeof sub !== "string" || sub.length === 0 || sub.length > limits.maxExternalIdChars) {
      throw new ApiError("unauthorized", "The token's subject is missing or too long");
    }
    return { externalId: sub, expiresAt: payload.exp ?? 0, claims: payload };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (providerUnavailable(err)) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`The identity provider's JWKS (EXTERNAL_JWKS_URL) could not be used: ${reason}`, {
        cause: err,
      });
    }
    throw new ApiError("unauthorized", "The access token is missing, malformed, expired or invalid");
  }
}
