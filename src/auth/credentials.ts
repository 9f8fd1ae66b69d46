import type { Context } from "hono";
import { decodeJwt } from "jose";
import { limitsFrom } from "../config";
import { externalAuthFrom } from "./external-settings";
import { openDb } from "../db/client";
import { toUser } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { refreshProfileInRooms } from "../durable/room/profile-sync";
import { accountDeleted, accountDeletedAt, requireLiveAccount } from "./account-state";
import { type ExternalToken, verifyExternalToken } from "./external";
import { forgetExternalUser, userForExternalToken } from "./external-users";
import { type TokenSettings, type VerifiedToken, verifyToken } from "./tokens";

/**
 * Which verifier a bearer token goes to is decided by its (not yet trusted) issuer: this service's
 * own (HS256 with JWT_SECRET) or the configured identity provider's (asymmetric, through its JWKS).
 * Each verifier then pins its own algorithms, keys, issuer and audience, so choosing by `iss` gives
 * a forger nothing: an own-issuer token must carry our HMAC, a provider-issuer token the provider's
 * signature.
 */

export function tokenSettings(env: Env): TokenSettings {
  return {
    secret: env.JWT_SECRET,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    ttlSeconds: limitsFrom(env).tokenTtlSeconds,
  };
}

export type Credential = ({ kind: "own" } & VerifiedToken) | ({ kind: "external" } & ExternalToken);

const unauthorized = () =>
  new ApiError("unauthorized", "The access token is missing, malformed, expired or invalid");

/** Verifies a bearer token without side effects (no user is created). */
export async function verifyCredential(token: string, env: Env): Promise<Credential> {
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    throw unauthorized();
  }
  const external = externalAuthFrom(env);
  if (issuer === env.JWT_ISSUER) return { kind: "own", ...(await verifyToken(token, tokenSettings(env))) };
  if (external && issuer === external.issuer) {
    return { kind: "external", ...(await verifyExternalToken(token, external, limitsFrom(env))) };
  }
  throw unauthorized();
}

/**
 * Verifies the caller's token and that their account was not deleted since (account-state.ts); a
 * provider's user is created or updated from the claims as needed.
 */
export async function authenticate(c: Context<AppEnv>, token: string): Promise<VerifiedToken> {
  const credential = await verifyCredential(token, c.env);
  if (credential.kind === "own") {
    const { userId, expiresAt, source, authTime } = credential;
    await requireLiveAccount(c.env, userId);
    return { userId, expiresAt, source, authTime };
  }
  const external = externalAuthFrom(c.env);
  if (!external) throw unauthorized();
  const { externalId, claims } = credential;
  const sync = () => userForExternalToken(openDb(c.env.DB), externalId, claims, external, c.get("limits"));
  let synced = await sync();
  if ((await accountDeletedAt(c.env, synced.userId)) !== null) {
    // This isolate still knew the provider's id as the deleted account: the directory decides
    // whether the token starts a new account (issued after the deletion) or is refused.
    forgetExternalUser(externalId);
    const gone = synced.userId;
    synced = await sync();
    if (synced.userId === gone) throw accountDeleted();
  }
  // Rooms cache their members' profiles for live events.
  const updated = synced.updated;
  if (updated) c.executionCtx.waitUntil(refreshProfileInRooms(c.env, toUser(updated)));
  const authTime = typeof claims.auth_time === "number" ? claims.auth_time : claims.iat;
  return { userId: synced.userId, expiresAt: credential.expiresAt, source: "external", authTime };
}
