import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type TestUser, registerUser } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures, STACK, expectInternalError } from "../helpers/checks";
import { captureLogs } from "../helpers/logs";
import { TEST_SECRET } from "../helpers/tokens";

/**
 * The token secret is configuration the Worker refuses to run without: no registration, login or
 * token check without a strong one, and the reason only in the log, never in a response.
 */

const figures = new Figures("secret");
afterAll(() => figures.print());

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the token secret", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await registerUser("Sec", "Ret");
  });

  const WEAK: [string, string | undefined][] = [
    ["missing", undefined],
    ["empty", ""],
    ["short", "short-secret"],
    ["31 characters", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"],
    ["one character repeated", "x".repeat(64)],
    ["a short pattern repeated", "ab12".repeat(16)],
    ["the published example", "replace-with-at-least-32-random-characters"],
  ];

  it("refuses to register, log in or verify tokens without a strong secret, and says so only in the log", async () => {
    for (const [name, secret] of WEAK) {
      const patch = { JWT_SECRET: secret as string };
      const email = `weak-${crypto.randomUUID()}@example.com`;
      const attempts = [
        () =>
          call("POST", "/api/auth/register", {
            body: { email, password: "long enough pw", firstName: "W", lastName: "K" },
            env: patch,
          }),
        () =>
          call("POST", "/api/auth/login", {
            body: { email: user.user.email, password: user.password },
            env: patch,
          }),
        () => call("GET", "/api/me", { token: user.token, env: patch }),
        () =>
          call("GET", `/api/inbox/ws?access_token=${user.token}`, {
            headers: { upgrade: "websocket" },
            env: patch,
          }),
      ];
      for (const attempt of attempts) {
        const { result: res, lines } = await captureLogs(attempt);
        figures.add("faults injected");
        const requestId = expectInternalError(res, `secret ${name}`);
        expect(res.text).not.toContain('token"');
        if (secret) expect(res.text).not.toContain(secret);
        // The operator learns what is wrong, with the request id; the secret itself is never written.
        const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        const entry = entries.find((e) => e.requestId === requestId);
        expect(entry, `log line for ${name}`).toMatchObject({
          level: "error",
          event: "unhandled_error",
          message: expect.stringContaining("JWT_SECRET"),
        });
        for (const line of lines) {
          if (secret) expect(line).not.toContain(secret);
          expect(line).not.toMatch(STACK);
        }
      }
      const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE email = ?")
        .bind(email)
        .first<{ n: number }>();
      expect(stored?.n, `no account created with the ${name} secret`).toBe(0);
    }
  });

  it("works with a random 32-byte secret", async () => {
    const secret = [...crypto.getRandomValues(new Uint8Array(32))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const res = await call("POST", "/api/auth/register", {
      body: {
        email: `strong-${crypto.randomUUID()}@example.com`,
        password: "long enough pw",
        firstName: "S",
        lastName: "T",
      },
      env: { JWT_SECRET: secret },
    });
    expect(res.status).toBe(201);
    expect(
      (await call("GET", "/api/me", { token: res.body.token, env: { JWT_SECRET: secret } })).status,
    ).toBe(200);
    // A token from one secret means nothing under another.
    expect(
      (await call("GET", "/api/me", { token: res.body.token, env: { JWT_SECRET: TEST_SECRET } })).status,
    ).toBe(401);
  });
});
