import { SignJWT } from "jose";

/** The secret the test Worker runs with (test/vitest.config.ts). */
export const TEST_SECRET = "test-secret-that-is-long-enough-0123456789";

const b64url = (value: unknown): string =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function sign(userId: string, secret: string, iat: number, exp: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer("edge-chat")
    .setAudience("edge-chat")
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

export type ForgedCase = "no token" | "expired" | "other key" | "alg none";

/** Tokens for `userId` that must all be refused: every claim right except the one named. */
export async function forgedTokens(userId: string): Promise<Record<ForgedCase, string | undefined>> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: userId, iss: "edge-chat", aud: "edge-chat", iat: now, exp: now + 3600 };
  return {
    "no token": undefined,
    expired: await sign(userId, TEST_SECRET, now - 7200, now - 3600),
    "other key": await sign(userId, "another-secret-that-is-long-enough-987654", now, now + 3600),
    "alg none": `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`,
  };
}
