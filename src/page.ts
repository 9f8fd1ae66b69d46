import { allowedOrigins } from "./config";

/**
 * The web client's page ("/"), served by the Worker rather than straight from the static assets:
 * `frame-ancestors` has to name the origins of ALLOWED_ORIGINS, a setting, and src/client/static/
 * _headers is fixed at build time. Every other directive is the one _headers gives the rest of the
 * assets (test/http/cors-framing.test.ts checks that they agree). With no allowed origins nobody may frame it.
 */

const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "require-trusted-types-for 'script'",
  // One policy: it passes only /sw.js to the service worker registration (src/client/notifications.ts).
  "trusted-types service-worker",
];

export function pageCsp(env: Pick<Env, "ALLOWED_ORIGINS">): string {
  const origins = [...allowedOrigins(env)];
  const ancestors = origins.length > 0 ? `'self' ${origins.join(" ")}` : "'none'";
  return [...PAGE_CSP, `frame-ancestors ${ancestors}`].join("; ");
}

export async function servePage(request: Request, env: Env): Promise<Response> {
  const asset = await env.ASSETS.fetch(request);
  const res = new Response(asset.body, asset);
  res.headers.set("content-security-policy", pageCsp(env));
  // X-Frame-Options cannot name origins; browsers that know frame-ancestors ignore it anyway.
  if (allowedOrigins(env).size > 0) res.headers.delete("x-frame-options");
  else res.headers.set("x-frame-options", "DENY");
  for (const [name, value] of Object.entries(PAGE_HEADERS)) res.headers.set(name, value);
  return res;
}

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};
