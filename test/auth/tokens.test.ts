import { describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { api, registerUser } from "../helpers/api";

/** A JSON value as a JWT part (base64url, no padding). */
const b64 = (o: unknown) =>
  btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

describe("token checks", () => {
  it("rejects missing, malformed, tampered, expired and alg:none tokens with 401", async () => {
    const a = await registerUser();
    const [h, p, s] = a.token.split(".");
    const payload = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const tampered = `${h}.${b64({ ...payload, sub: "u_someoneelse" })}.${s}`;
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt(1_600_000_000)
      .setExpirationTime(1_600_000_100)
      .sign(new TextEncoder().encode("test-secret-that-is-long-enough-0123456789"));
    const otherKey = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(a.user.id)
      .setIssuer("edge-chat")
      .setAudience("edge-chat")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("another-secret-that-is-long-enough-000000"));
    for (const auth of [
      undefined,
      "Bearer",
      "Basic abc",
      `Bearer ${tampered}`,
      `Bearer ${none}`,
      `Bearer ${expired}`,
      `Bearer ${otherKey}`,
    ]) {
      const res = await api("GET", "/api/me", { headers: auth ? { authorization: auth } : {} });
      expect(res.status, String(auth)).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
  });
});
