import { createMiddleware } from "hono/factory";
import { listSetting } from "../config";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { log } from "../log";
import { verifyCredential } from "./credentials";
import { bearerToken } from "./middleware";

/**
 * The server API's keys (SERVER_API_KEYS, a secret: comma-separated, several while rotating). Only
 * the host application's backend holds one. A key is compared in constant time against every
 * configured key (through SHA-256 digests, so lengths leak nothing either); it is never a user
 * token and opens no user route, and a user token here is refused with 403.
 */

const MIN_KEY_LENGTH = 32;

const digests = new Map<string, Promise<Uint8Array[]>>();

const sha256 = async (text: string) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

function keyDigests(setting: string | undefined): Promise<Uint8Array[]> {
  const raw = setting ?? "";
  let found = digests.get(raw);
  if (!found) {
    const keys = listSetting(raw);
    if (keys.some((k) => k.length < MIN_KEY_LENGTH)) {
      // A configuration fault: a 500 with the reason in the log, never a guessable key accepted.
      throw new Error(`SERVER_API_KEYS has a key shorter than ${MIN_KEY_LENGTH} characters`);
    }
    found = Promise.all(keys.map(sha256));
    digests.set(raw, found);
  }
  return found;
}

/** Which configured key this is (its position, for the log), or -1; every key is compared. */
async function matchKey(candidate: string, setting: string | undefined): Promise<number> {
  const keys = await keyDigests(setting);
  const digest = await sha256(candidate);
  let match = -1;
  keys.forEach((key, i) => {
    if (crypto.subtle.timingSafeEqual(key, digest)) match = i;
  });
  return match;
}

/** Whether `token` is a valid user token of this service or its identity provider (nothing is created). */
async function isUserToken(token: string, env: Env): Promise<boolean> {
  try {
    await verifyCredential(token, env);
    return true;
  } catch {
    return false;
  }
}

export const requireServerKey = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    // No key configured: the server API is off, and says so (an optional secret, wrangler.toml).
    if (listSetting(c.env.SERVER_API_KEYS).length === 0) {
      throw new ApiError("unavailable", "The server API is not configured on this server (SERVER_API_KEYS)");
    }
    const token = bearerToken(c.req.header("authorization"));
    if (token === undefined) throw new ApiError("unauthorized", "A server API key is required");
    const key = await matchKey(token, c.env.SERVER_API_KEYS);
    if (key < 0) {
      if (await isUserToken(token, c.env)) {
        throw new ApiError("forbidden", "User tokens cannot call the server API; use a server API key");
      }
      throw new ApiError("unauthorized", "The server API key is not valid");
    }
    log("info", "server_api_call", {
      requestId: c.get("requestId"),
      key,
      method: c.req.method,
      path: new URL(c.req.url).pathname,
    });
    await next();
  });
