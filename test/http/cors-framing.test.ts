import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call } from "../helpers/call";
import { registerUser } from "../helpers/api";

const APP = "https://app.example";
const allowed: Partial<Env> = { ALLOWED_ORIGINS: `${APP}, https://other.example` };

const preflight = (path: string, origin: string, settings: Partial<Env> = allowed) =>
  call("OPTIONS", path, {
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
    env: settings,
  });

describe("CORS for the REST API", () => {
  it("answers a preflight from an allowed origin, and refuses every other origin", async () => {
    const ok = await preflight("/api/conversations", APP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP);
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    // Bearer tokens, not cookies: the browser is never told to send credentials.
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();

    for (const origin of [
      "https://evil.example",
      "null",
      "https://app.example.evil.example",
      "http://app.example",
    ]) {
      const refused = await preflight("/api/conversations", origin);
      expect(refused.status, origin).toBe(403);
      expect(refused.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    // Without ALLOWED_ORIGINS nobody gets in.
    expect((await preflight("/api/conversations", APP, { ALLOWED_ORIGINS: "" })).status).toBe(403);
  });

  it("lets an allowed origin read answers, errors included, and hides them from others", async () => {
    const user = await registerUser();
    const me = await call("GET", "/api/me", { token: user.token, headers: { origin: APP }, env: allowed });
    expect(me.status).toBe(200);
    expect(me.headers.get("access-control-allow-origin")).toBe(APP);
    expect(me.headers.get("access-control-expose-headers")).toContain("x-request-id");
    expect(me.headers.get("vary")).toContain("Origin");
    const error = await call("GET", "/api/me", { headers: { origin: APP }, env: allowed });
    expect(error.status).toBe(401);
    expect(error.headers.get("access-control-allow-origin")).toBe(APP);
    const foreign = await call("GET", "/api/me", {
      token: user.token,
      headers: { origin: "https://evil.example" },
      env: allowed,
    });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never offers the server API to browsers", async () => {
    const res = await preflight("/api/server/users/x", APP);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.status).toBeGreaterThanOrEqual(400);
  });

  it("ignores ALLOWED_ORIGINS entries that are not exact origins", async () => {
    const sloppy = {
      ALLOWED_ORIGINS:
        "*, https://x.example/path, https://y.example;script-src, app.example, https://Z.example",
    };
    for (const origin of [
      "https://x.example",
      "https://y.example;script-src",
      "https://app.example",
      "*",
      "https://Z.example",
    ]) {
      expect((await preflight("/api/me", origin, sloppy)).status, origin).toBe(403);
    }
  });
});

/** A policy's directives, frame-ancestors left out. */
const directives = (policy: string) =>
  policy
    .split(";")
    .map((d) => d.trim())
    .filter((d) => d && !d.startsWith("frame-ancestors"))
    .sort();

/** GET / through the Worker's entry, as run_worker_first routes it. */
async function page(settings: Partial<Env> = {}): Promise<Response> {
  const res = await worker.fetch(
    new Request("https://chat.test/"),
    { ...env, ...settings },
    createExecutionContext(),
  );
  await res.arrayBuffer();
  return res;
}

describe("framing the page", () => {
  it("may be framed by no one by default", async () => {
    const res = await page({ ALLOWED_ORIGINS: "" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("may be framed by the allowed origins only, with the page's policy otherwise unchanged", async () => {
    const res = await page({ ALLOWED_ORIGINS: `${APP}, https://y.example;script-src, https://z.example'` });
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(new RegExp(`frame-ancestors 'self' ${APP}$`));
    expect(csp).not.toContain("y.example");
    expect(csp).not.toContain("z.example");
    expect(res.headers.get("x-frame-options")).toBeNull();
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    // Every directive but frame-ancestors is the one _headers gives the other assets.
    const asset = await env.ASSETS.fetch(new Request("https://chat.test/styles.css"));
    await asset.arrayBuffer();
    const assetCsp = asset.headers.get("content-security-policy") ?? "(none: run npm run build:client)";
    expect(directives(csp)).toEqual(directives(assetCsp));
  });
});
