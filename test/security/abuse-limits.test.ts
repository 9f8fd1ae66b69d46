import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ipKey } from "../../src/auth/rate-limit";
import { limitsFrom } from "../../src/config";
import wranglerToml from "../../wrangler.toml?raw";
import { type ApiResult, type TestUser, registerUser, sendMessage, startConversation } from "../helpers/api";
import { ofType, openSocket } from "../helpers/socket";
import { call } from "./support/call";
import { Figures, d1Snapshot, expectApiError } from "./support/checks";
import { setRoomLimits } from "./support/rooms";

/**
 * The limits a client meets before the server does any work for it: login and registration
 * throttles (Workers Rate Limiting, configured in wrangler.toml), the per-user message rate, the
 * body cap, and the caps on participants, titles, names, avatar URLs and message bodies.
 */

const figures = new Figures("abuse-limits");
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

describe("per-user message rate", () => {
  let a: TestUser;
  let b: TestUser;
  beforeAll(async () => {
    a = await registerUser();
    b = await registerUser();
  });

  it("counts edits and deletes as writes: the same budget as sends, over REST and socket", async () => {
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const first = await sendMessage(a.token, conversation.id, "one");
    await setRoomLimits(conversation.id, { messageRatePer10s: 4 }); // the send above used one
    const path = `/api/conversations/${conversation.id}/messages/${first.id}`;
    expect((await call("PATCH", path, { token: a.token, body: { body: "two" } })).status).toBe(200);
    expect((await call("PATCH", path, { token: a.token, body: { body: "three" } })).status).toBe(200);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    sa.send({ type: "edit", messageId: first.id, body: "four" });
    expect(await sa.next(ofType("message.updated"))).toMatchObject({ message: { body: "four" } });
    sa.send({ type: "edit", messageId: first.id, body: "five" });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    sa.send({ type: "delete", messageId: first.id });
    expect(await sa.next(ofType("error"))).toMatchObject({ code: "rate_limited" });
    const rest = await call("PATCH", path, { token: a.token, body: { body: "six" } });
    expect(expectApiError(rest, "edit over the rate", 429)).toBe("rate_limited");
    expect(Number(rest.headers.get("retry-after"))).toBeGreaterThan(0);
    const history = await call("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token });
    expect(history.body.messages).toEqual([expect.objectContaining({ body: "four", deletedAt: null })]);
    figures.add("inputs", 6);
    sa.close();
  });
});

describe("typing frames", () => {
  it("cannot make the room broadcast faster than the typing throttle, however they are toggled", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    await setRoomLimits(conversation.id, { typingThrottleMs: 60_000 });
    const sb = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: b.token });
    await sb.next(ofType("ready"));
    // Stops before any start, then 200 frames toggling as fast as the socket goes.
    for (let i = 0; i < 20; i++) sa.send({ type: "typing", active: false });
    for (let i = 0; i < 200; i++) sa.send({ type: "typing", active: i % 2 === 0 });
    figures.add("inputs", 220);
    sa.send({ type: "send", body: "done", clientId: "done" });
    await sb.next(ofType("message"));
    // One start and its stop reached b, nothing more.
    expect(sb.events.filter((e) => e.type === "typing").map((e) => e.active)).toEqual([true, false]);
    sa.close();
    sb.close();
  });
});

describe("size and content caps", () => {
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  beforeAll(async () => {
    a = await registerUser();
    b = await registerUser();
    c = await registerUser();
  });

  it("caps every body at MAX_BODY_BYTES before parsing it", async () => {
    const max = limitsFrom(env).maxBodyBytes;
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const before = await d1Snapshot();
    const routes: [string, string][] = [
      ["POST", "/api/auth/register"],
      ["POST", "/api/auth/login"],
      ["PATCH", "/api/me"],
      ["POST", "/api/conversations"],
      ["POST", `/api/conversations/${conversation.id}/participants`],
      ["POST", `/api/conversations/${conversation.id}/messages`],
      ["PATCH", `/api/conversations/${conversation.id}/messages/m_x`],
      ["POST", `/api/conversations/${conversation.id}/read`],
    ];
    for (const [method, path] of routes) {
      // One byte over, and not even JSON: refused on its length alone.
      const res = await call(method, path, { token: a.token, rawBody: "{".repeat(max + 1), headers: json });
      figures.add("inputs");
      expect(expectApiError(res, `${method} ${path}`, 413)).toBe("payload_too_large");
    }
    expect(await d1Snapshot()).toBe(before);
  });

  it("caps participants at MAX_GROUP_SIZE when creating and when adding", async () => {
    const small = { MAX_GROUP_SIZE: "3" };
    const d = await registerUser();
    const tooMany = await call("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id, d.user.id] },
      env: small,
    });
    expect(expectApiError(tooMany, "4 people in a group of 3", 422)).toBe("validation_failed");
    const fits = await call("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id] },
      env: small,
    });
    expect(fits.status).toBe(201);
    const id = fits.body.conversation.id;
    await setRoomLimits(id, { maxGroupSize: 3 });
    const add = await call("POST", `/api/conversations/${id}/participants`, {
      token: a.token,
      body: { userIds: [d.user.id] },
    });
    expect(expectApiError(add, "adding a 4th to a group of 3", 422)).toBe("validation_failed");
    expect(
      (await call("GET", `/api/conversations/${id}`, { token: a.token })).body.participants,
    ).toHaveLength(3);
    // The default limit is a schema bound too: 1001 ids never reach the database.
    const ids = Array.from(
      { length: limitsFrom(env).maxGroupSize + 1 },
      (_, i) => `u_${String(i).padStart(20, "0")}`,
    );
    const huge = await call("POST", "/api/conversations", { token: a.token, body: { participantIds: ids } });
    expect(expectApiError(huge, "1001 participants", 422)).toBe("validation_failed");
    figures.add("inputs", 4);
  });

  it("caps titles and names, and refuses invisible, control and direction-override characters in them", async () => {
    const { maxTitleChars, maxNameChars } = limitsFrom(env);
    const bad = [
      "x".repeat(maxTitleChars + 1),
      "\u202Eevil",
      "a\u2066b",
      "a\u0000b",
      "line\nbreak",
      "\u200b\u200b",
      "\ud800",
    ];
    for (const title of bad) {
      const res = await call("POST", "/api/conversations", {
        token: a.token,
        body: { participantIds: [b.user.id, c.user.id], title },
      });
      figures.add("inputs");
      expect(expectApiError(res, `title ${JSON.stringify(title).slice(0, 40)}`, 422)).toBe(
        "validation_failed",
      );
    }
    const ok = await call("POST", "/api/conversations", {
      token: a.token,
      body: { participantIds: [b.user.id, c.user.id], title: "x".repeat(maxTitleChars) },
    });
    expect(ok.status).toBe(201);
    for (const firstName of ["n".repeat(maxNameChars + 1), "Ann\u202E", "\u0007", "\u200b"]) {
      const res = await call("PATCH", "/api/me", { token: a.token, body: { firstName } });
      figures.add("inputs");
      expect(expectApiError(res, `name ${JSON.stringify(firstName).slice(0, 40)}`, 422)).toBe(
        "validation_failed",
      );
    }
    // Scripts that need no override characters are names like any other.
    for (const firstName of ["Ада", "أحمد", "李", "Zoë", "José"]) {
      expect((await call("PATCH", "/api/me", { token: a.token, body: { firstName } })).body.firstName).toBe(
        firstName,
      );
    }
  });

  it("accepts only http and https avatar URLs, and stores them as parsed", async () => {
    const max = limitsFrom(env).maxAvatarUrlChars;
    const bad = [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      " javascript:alert(1)",
      "java\tscript:alert(1)",
      "data:image/svg+xml,<svg onload=alert(1)>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "ftp://example.com/a.png",
      "//evil.example/a.png",
      "/relative.png",
      "https://",
      "not a url",
      `https://example.com/${"a".repeat(max)}`,
    ];
    for (const avatarUrl of bad) {
      const res = await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl } });
      figures.add("inputs");
      expect(expectApiError(res, `avatar ${avatarUrl.slice(0, 40)}`, 422)).toBe("validation_failed");
      const reg = await call("POST", "/api/auth/register", {
        body: {
          email: `av-${crypto.randomUUID()}@example.com`,
          password: "long enough pw",
          firstName: "A",
          lastName: "V",
          avatarUrl,
        },
      });
      figures.add("inputs");
      expect(reg.status).toBe(422);
    }
    const good = await call("PATCH", "/api/me", {
      token: a.token,
      body: { avatarUrl: "  HTTPS://Example.COM/a b.png " },
    });
    expect(good.body.avatarUrl).toBe("https://example.com/a%20b.png");
    expect(
      (await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl: "http://example.com/a.png" } }))
        .status,
    ).toBe(200);
    expect(
      (await call("PATCH", "/api/me", { token: a.token, body: { avatarUrl: null } })).body.avatarUrl,
    ).toBeNull();
  });

  it("refuses message bodies that are empty, too long, or carry NUL, control characters or unpaired surrogates", async () => {
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const sa = await openSocket(`/api/conversations/${conversation.id}/ws`, { token: a.token });
    await sa.next(ofType("ready"));
    const bad = [
      "",
      "   ",
      "\u200b",
      "x".repeat(limitsFrom(env).maxMessageChars + 1),
      "a\u0000b",
      "\u001b[2J",
      "lone \ud800",
      "\udc00",
    ];
    for (const [i, body] of bad.entries()) {
      const res = await call("POST", `/api/conversations/${conversation.id}/messages`, {
        token: a.token,
        body: { body },
      });
      expect(expectApiError(res, `body ${i}`, 422)).toBe("validation_failed");
      sa.send({ type: "send", body, clientId: `bad-${i}` });
      expect(await sa.next(ofType("error"))).toMatchObject({
        code: "validation_failed",
        clientId: `bad-${i}`,
      });
      figures.add("inputs", 2);
    }
    // Tabs, newlines, RTL text with its marks, emoji and combining marks are text.
    const fine = "line one\n\tline two — שלום \u200f עולם 👩‍👩‍👧‍👦 e\u0301";
    sa.send({ type: "send", body: fine, clientId: "fine" });
    expect((await sa.next(ofType("ack"))).message.body).toBe(fine);
    const history = await call("GET", `/api/conversations/${conversation.id}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual([fine]);
    sa.close();
  });
});

describe("the web client", () => {
  // Read-only look at the browser code: message bodies and names must reach the page as text.
  const sources = import.meta.glob("../../src/client/**/*.ts", {
    query: "?raw",
    import: "default",
    eager: true,
  }) as Record<string, string>;

  it("never turns strings into HTML", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(0);
    const sinks =
      /\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|srcdoc|\beval\(|new Function\(/;
    const offenders = Object.entries(sources)
      .filter(([, text]) => sinks.test(text))
      .map(([file]) => file);
    expect(offenders).toEqual([]);
  });
});
