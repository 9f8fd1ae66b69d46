/**
 * Headers on every Worker response. The web client's page gets its stricter Content-Security-Policy
 * from src/client/static/_headers, which the assets server applies.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
};
