import { afterAll, describe, expect, it } from "vitest";
import { ipKey } from "../../src/auth/rate-limit";
import wranglerToml from "../../wrangler.toml?raw";
import { type ApiResult, type TestUser, registerUser } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures, d1Snapshot, expectApiError } from "../helpers/checks";

/**
 * Login and registration throttles (Workers Rate Limiting, configured in wrangler.toml): per IP
 * address, per account and source, and an account-wide ceiling, counted before any password work.
 */

const figures = new Figures("auth-throttles");
afterAll(() => figures.print());

/** The [[ratelimits]] of wrangler.toml: the tests hold the Worker to the configured numbers. */
function configuredLimits(): Record<string, { limit: number; period: number }> {
  const out: Record<string, { limit: number; period: number }> = {};
  const block =
    /\[\[ratelimits\]\]\s*name = "(\w+)"\s*namespace_id = "\d+"\s*simple = \{ limit = (\d+), period = (\d+) \}/g;
  for (const m of wranglerToml.matchAll(block)) out[m[1]!] = { limit: Number(m[2]), period: Number(m[3]) };
  return out;
}
const LIMITS = configuredLimits();

const randomIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
const json = { "content-type": "application/json" };

/**
 * Local rate-limit windows are aligned to the wall clock (like fixed windows): a burst that crosses
 * a boundary is counted in two windows. Start bursts early in a window.
 */
async function freshWindow(periodSeconds: number, needMs = 8000): Promise<void> {
  const ms = periodSeconds * 1000;
  const left = ms - (Date.now() % ms);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 100));
}

async function expectRateLimited(res: ApiResult<any>, context: string, period: number): Promise<void> {
  expect(expectApiError(res, context, 429)).toBe("rate_limited");
  expect(Number(res.headers.get("retry-after")), context).toBe(period);
}

/** `count` wrong-password logins to `email` from `ip` (one random address each when null), all 401. */
async function failLogins(email: string, count: number, ip: string | null): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await call("POST", "/api/auth/login", {
      body: { email, password: `guess-${i}` },
      headers: { "cf-connecting-ip": ip ?? randomIp() },
    });
    figures.add("inputs");
    expect(res.status, `failed login ${i + 1}`).toBe(401);
  }
}

const login = (who: TestUser, ip: string, email = who.user.email) =>
  call("POST", "/api/auth/login", {
    body: { email, password: who.password },
    headers: { "cf-connecting-ip": ip },
  });

describe("login and registration throttles", () => {
  it("are configured in wrangler.toml, generous enough for people behind one address", () => {
    expect(Object.keys(LIMITS).sort()).toEqual([
      "LOGIN_ACCOUNT_LIMITER",
      "LOGIN_ACCOUNT_SOURCE_LIMITER",
      "LOGIN_IP_LIMITER",
      "REGISTER_ACCOUNT_LIMITER",
      "REGISTER_IP_LIMITER",
    ]);
    expect(LIMITS.LOGIN_IP_LIMITER!.limit).toBeGreaterThanOrEqual(30);
    expect(LIMITS.LOGIN_ACCOUNT_SOURCE_LIMITER!.limit).toBeGreaterThanOrEqual(5);
    // The account-wide ceiling is looser than one source's share: a few sources cannot reach it.
    expect(LIMITS.LOGIN_ACCOUNT_LIMITER!.limit).toBeGreaterThanOrEqual(
      5 * LIMITS.LOGIN_ACCOUNT_SOURCE_LIMITER!.limit,
    );
    expect(LIMITS.REGISTER_IP_LIMITER!.limit).toBeGreaterThanOrEqual(10);
    for (const { period } of Object.values(LIMITS)) expect([10, 60]).toContain(period);
    // Each binding counts in its own namespace (ids are unique per Cloudflare account).
    const namespaces = [...wranglerToml.matchAll(/namespace_id = "(\d+)"/g)].map((m) => m[1]);
    expect(new Set(namespaces).size).toBe(namespaces.length);
  });

  it("limits login attempts per IP address, counting malformed ones, and leaves other addresses alone", async () => {
    const { limit, period } = LIMITS.LOGIN_IP_LIMITER!;
    await freshWindow(period);
    const ip = randomIp();
    for (let i = 0; i < limit; i++) {
      const attempt =
        i % 2
          ? "{broken"
          : JSON.stringify({ email: `x${i}-${crypto.randomUUID()}@example.com`, password: "nope" });
      const res = await call("POST", "/api/auth/login", {
        rawBody: attempt,
        headers: { ...json, "cf-connecting-ip": ip },
      });
      figures.add("inputs");
      expect(res.status, `attempt ${i + 1}`).not.toBe(429);
    }
    const stranger = { email: `y-${crypto.randomUUID()}@example.com`, password: "nope" };
    const over = await call("POST", "/api/auth/login", {
      body: stranger,
      headers: { "cf-connecting-ip": ip },
    });
    await expectRateLimited(over, "login over the IP limit", period);
    const elsewhere = await call("POST", "/api/auth/login", {
      body: stranger,
      headers: { "cf-connecting-ip": randomIp() },
    });
    expect(elsewhere.status).toBe(401);
    figures.add("inputs", 2);
  });

  it("counts an IPv6 client's whole /64 as one address", async () => {
    const { limit, period } = LIMITS.LOGIN_IP_LIMITER!;
    await freshWindow(period);
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
    for (let i = 0; i < limit; i++) {
      // Every attempt from a different address of the same /64.
      await call("POST", "/api/auth/login", {
        rawBody: "{}",
        headers: { ...json, "cf-connecting-ip": `${prefix}:${i.toString(16)}::1` },
      });
      figures.add("inputs");
    }
    const over = await call("POST", "/api/auth/login", {
      rawBody: "{}",
      headers: { ...json, "cf-connecting-ip": `${prefix}:ffff:ffff:ffff:ffff` },
    });
    await expectRateLimited(over, "login from the same /64", period);
    expect(ipKey("2001:0db8:0001:0002:0003:0004:0005:0006")).toBe("2001:db8:1:2::/64");
    expect(ipKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(ipKey("192.0.2.7")).toBe("192.0.2.7");
  });

  it("throttles password guessing on one account from one address, even the right password after", async () => {
    const { limit, period } = LIMITS.LOGIN_ACCOUNT_SOURCE_LIMITER!;
    await freshWindow(period);
    const victim = await registerUser("Vic", "Tim");
    const attacker = randomIp();
    await failLogins(victim.user.email, limit, attacker);
    const right = await login(victim, attacker, victim.user.email.toUpperCase());
    await expectRateLimited(right, "login over the account-and-address limit", period);
    expect(right.text).not.toContain("token");
    // An IPv6 attacker counts as its /64: moving within it does not reset the count.
    const v6 = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    const other = await registerUser("Six", "Four");
    for (let i = 0; i < limit; i++) {
      const res = await call("POST", "/api/auth/login", {
        body: { email: other.user.email, password: `guess-${i}` },
        headers: { "cf-connecting-ip": `${v6}::${(i + 1).toString(16)}` },
      });
      expect(res.status).toBe(401);
    }
    await expectRateLimited(await login(other, `${v6}:ffff::1`), "login from the same /64", period);
    figures.add("inputs", 2 + limit);
  });

  it("failing logins from one address do not lock the account for its owner at another address", async () => {
    const { limit, period } = LIMITS.LOGIN_ACCOUNT_SOURCE_LIMITER!;
    await freshWindow(period);
    const victim = await registerUser("Lock", "Out");
    const attacker = randomIp();
    await failLogins(victim.user.email, limit + 5, null);
    await failLogins(victim.user.email, limit, attacker);
    expect((await login(victim, attacker)).status).toBe(429);
    const owner = await login(victim, randomIp());
    expect(owner.status, owner.text).toBe(200);
    expect(owner.body.user.id).toBe(victim.user.id);
    figures.add("inputs", 2);
  });

  it("stops guessing spread over many addresses at the account-wide ceiling, and only for that account", async () => {
    const { limit, period } = LIMITS.LOGIN_ACCOUNT_LIMITER!;
    await freshWindow(period, 20_000);
    const victim = await registerUser("Many", "Sources");
    const bystander = await registerUser("By", "Stander");
    await failLogins(victim.user.email, limit, null);
    const right = await login(victim, randomIp());
    await expectRateLimited(right, "login over the account-wide ceiling", period);
    expect(right.text).not.toContain("token");
    expect((await login(bystander, randomIp())).status).toBe(200);
    figures.add("inputs", 2);
  });

  it("limits registrations per IP address and stores nothing once over", async () => {
    const { limit, period } = LIMITS.REGISTER_IP_LIMITER!;
    await freshWindow(period);
    const ip = randomIp();
    for (let i = 0; i < limit; i++) {
      const res = await call("POST", "/api/auth/register", {
        body: { email: "bad" },
        headers: { "cf-connecting-ip": ip },
      });
      figures.add("inputs");
      expect(res.status).toBe(422);
    }
    const before = await d1Snapshot();
    const email = `late-${crypto.randomUUID()}@example.com`;
    const over = await call("POST", "/api/auth/register", {
      body: { email, password: "long enough pw", firstName: "Late", lastName: "Comer" },
      headers: { "cf-connecting-ip": ip },
    });
    figures.add("inputs");
    await expectRateLimited(over, "register over the IP limit", period);
    expect(await d1Snapshot()).toBe(before);
  });

  it("limits registration attempts for one email across addresses", async () => {
    const { limit, period } = LIMITS.REGISTER_ACCOUNT_LIMITER!;
    await freshWindow(period);
    const email = `taken-${crypto.randomUUID()}@example.com`;
    const body = { email, password: "long enough pw", firstName: "Pro", lastName: "Be" };
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) {
      statuses.push(
        (await call("POST", "/api/auth/register", { body, headers: { "cf-connecting-ip": randomIp() } }))
          .status,
      );
      figures.add("inputs");
    }
    expect(statuses).toEqual([201, ...Array<number>(limit - 1).fill(409)]);
    const over = await call("POST", "/api/auth/register", {
      body: { ...body, email: email.toUpperCase() },
      headers: { "cf-connecting-ip": randomIp() },
    });
    figures.add("inputs");
    await expectRateLimited(over, "register over the account limit", period);
  });

  it("can be switched off for load tests with AUTH_RATE_LIMITS=off", async () => {
    const ip = randomIp();
    const { limit } = LIMITS.REGISTER_IP_LIMITER!;
    for (let i = 0; i <= limit + 2; i++) {
      const res = await call("POST", "/api/auth/register", {
        body: { email: "bad" },
        headers: { "cf-connecting-ip": ip },
        env: { AUTH_RATE_LIMITS: "off" },
      });
      expect(res.status).toBe(422);
    }
  });
});
