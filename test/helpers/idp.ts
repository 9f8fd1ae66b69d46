import { type CryptoKey, type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from "jose";
import { type MockInstance, vi } from "vitest";

/**
 * A real identity provider for the tests: key pairs generated here with jose, their public halves
 * served as a JWKS at the URL test/vitest.config.ts configures, through a mock of the Worker's
 * outbound fetch (vitest-pool-workers 0.23 runs the Worker in the test's isolate, and jose fetches
 * with the global fetch at call time). Every other outbound request goes through untouched.
 */

export const IDP = {
  jwksUrl: "https://idp.test/.well-known/jwks.json",
  issuer: "https://idp.test/",
  audience: "edge-chat-tests",
} as const;

export type IdpAlg = "RS256" | "ES256" | "EdDSA";

export interface IdpKey {
  kid: string;
  alg: IdpAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(
  alg: IdpAlg,
  kid = `${alg}-${crypto.randomUUID().slice(0, 8)}`,
): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export class TestIdp {
  /** The keys published at each JWKS URL. */
  private readonly published = new Map<string, JWK[]>();
  /** How many times each JWKS URL was fetched. */
  readonly fetches = new Map<string, number>();
  private readonly down = new Set<string>();
  private spy: MockInstance<typeof fetch> | null = null;

  publish(keys: IdpKey[], url: string = IDP.jwksUrl): void {
    this.published.set(
      url,
      keys.map((k) => k.publicJwk),
    );
  }

  /** The JWKS at `url` answers 503, as a provider that is down. */
  breakDown(url: string): void {
    this.down.add(url);
  }

  fetchCount(url: string = IDP.jwksUrl): number {
    return this.fetches.get(url) ?? 0;
  }

  install(): void {
    const original = globalThis.fetch.bind(globalThis);
    this.spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (this.down.has(request.url)) return new Response("unavailable", { status: 503 });
      const keys = this.published.get(request.url);
      if (keys === undefined) return original(input, init);
      this.fetches.set(request.url, (this.fetches.get(request.url) ?? 0) + 1);
      return Response.json({ keys });
    });
  }

  uninstall(): void {
    this.spy?.mockRestore();
    this.spy = null;
  }
}

export interface SignOptions {
  /** false: no kid in the header; a string: that kid instead of the key's. */
  kid?: boolean | string;
  issuer?: string;
  audience?: string;
  expiresInSeconds?: number;
}

/** A token as the provider would issue it for `sub`, with the given profile claims. */
export async function idpToken(
  key: IdpKey,
  sub: string,
  claims: JWTPayload = {},
  options: SignOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const kid = options.kid === false ? undefined : typeof options.kid === "string" ? options.kid : key.kid;
  return new SignJWT(claims)
    .setProtectedHeader(kid === undefined ? { alg: key.alg, typ: "JWT" } : { alg: key.alg, typ: "JWT", kid })
    .setSubject(sub)
    .setIssuer(options.issuer ?? IDP.issuer)
    .setAudience(options.audience ?? IDP.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(key.privateKey);
}

/** A fresh subject, as a provider would name a user it has never shown us. */
export const newSub = (prefix = "idp|"): string => `${prefix}${crypto.randomUUID()}`;
