import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { describeError, log } from "../log";

/**
 * Login and registration throttles on the Workers Rate Limiting bindings ([[ratelimits]] in
 * wrangler.toml, where the limits are set). The binding answers only yes or no; the Retry-After we
 * send is its window, the longest a client can have to wait.
 */

export type AuthLimiter =
  | "LOGIN_IP_LIMITER"
  | "LOGIN_ACCOUNT_LIMITER"
  | "LOGIN_ACCOUNT_SOURCE_LIMITER"
  | "REGISTER_IP_LIMITER"
  | "REGISTER_ACCOUNT_LIMITER";

/** The `period` of every auth limiter in wrangler.toml (the binding allows 10 or 60). */
export const AUTH_LIMIT_PERIOD_SECONDS = 60;

/**
 * The key for a client address: IPv4 as is, IPv6 as its /64 (one subscriber's whole prefix, so
 * cycling through addresses of one's own network does not reset the count).
 */
export function ipKey(ip: string): string {
  const mapped = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped?.[1]) return mapped[1]; // IPv4, or IPv4-mapped IPv6
  const [head = "", tail] = ip.toLowerCase().split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  const prefix = [...left, ...zeros, ...right].slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  return `${prefix.join(":")}::/64`;
}

/** Throws 429 `rate_limited` when `key` is over the binding's limit. */
export async function enforceLimit(c: Context<AppEnv>, limiter: AuthLimiter, key: string): Promise<void> {
  if (c.env.AUTH_RATE_LIMITS === "off") return;
  let allowed: boolean;
  try {
    ({ success: allowed } = await c.env[limiter].limit({ key }));
  } catch (err) {
    // A limiter outage must not lock everyone out; it is logged and the request goes on.
    log("warn", "rate_limiter_failed", { requestId: c.get("requestId"), limiter, ...describeError(err) });
    return;
  }
  if (allowed) return;
  log("warn", "rate_limited", { requestId: c.get("requestId"), limiter });
  throw new ApiError("rate_limited", "Too many attempts; try again later", {
    retryAfterSeconds: AUTH_LIMIT_PERIOD_SECONDS,
  });
}

/**
 * Where a request comes from, as the limits count it: its address key, or null without
 * CF-Connecting-IP. Cloudflare's edge always sets it; a request without it came through a service
 * binding or a test harness.
 */
export function sourceOf(c: Context<AppEnv>): string | null {
  const ip = c.req.header("cf-connecting-ip")?.trim();
  return ip ? ipKey(ip) : null;
}

/**
 * Counts every request of a route against its per-IP limiter, before the body is read. Requests
 * without an address are held to the per-account limits only.
 */
export const limitByIp = (limiter: AuthLimiter) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const source = sourceOf(c);
    if (source) await enforceLimit(c, limiter, source);
    await next();
  });

/**
 * The login limits of one account. A limit on the account alone would let anyone lock a chosen
 * person out by failing on purpose; so attempts count per account and source together (brute
 * force from one place stops there), and the account as a whole has only a looser ceiling that a
 * lockout needs many sources to reach. A source refused by its own limit does not spend the
 * ceiling. Requests without an address share one source.
 */
export async function enforceLoginLimits(c: Context<AppEnv>, account: string): Promise<void> {
  await enforceLimit(c, "LOGIN_ACCOUNT_SOURCE_LIMITER", `${account} ${sourceOf(c) ?? "direct"}`);
  await enforceLimit(c, "LOGIN_ACCOUNT_LIMITER", account);
}
