import { listSetting } from "../config";

/**
 * The settings of tokens from the host application's identity provider (EXTERNAL_* in
 * wrangler.toml), parsed once per environment; the other settings are in src/config.ts.
 */

/**
 * The profile fields an identity provider's token can fill, and the claim each is read from: a
 * top-level claim by its name (which may contain dots, as Auth0's namespaced claims do), otherwise
 * a dotted path into nested claims ("user_metadata.full_name").
 */
export type ClaimField = "firstName" | "lastName" | "name" | "avatarUrl" | "email";
export type ClaimMap = Partial<Record<ClaimField, string>>;

/** Tokens from the host application's identity provider (all EXTERNAL_* settings); null when off. */
export interface ExternalAuthSettings {
  jwksUrl: URL;
  issuer: string;
  /** Empty: the audience is not checked (providers such as Clerk put none in their tokens). */
  audience: string[];
  algorithms: string[];
  claims: ClaimMap;
}

/** The asymmetric algorithms a provider's token may use: never HS*, never `none`. */
export const EXTERNAL_ALGORITHMS: readonly string[] = ["RS256", "ES256", "EdDSA"];
const CLAIM_FIELDS = new Set<string>(["firstName", "lastName", "name", "avatarUrl", "email"]);

type ExternalVars = Pick<
  Env,
  | "EXTERNAL_JWKS_URL"
  | "EXTERNAL_JWT_ISSUER"
  | "EXTERNAL_JWT_AUDIENCE"
  | "EXTERNAL_JWT_ALGORITHMS"
  | "EXTERNAL_JWT_CLAIMS"
  | "JWT_ISSUER"
>;

const external = new WeakMap<object, ExternalAuthSettings | null>();

/**
 * Throws on a setting that cannot be right (the request becomes a 500 with the reason in the log):
 * a JWKS URL that is not https (http only for localhost), no issuer, or the service's own issuer.
 */
export function externalAuthFrom(env: ExternalVars): ExternalAuthSettings | null {
  const hit = external.get(env);
  if (hit !== undefined) return hit;
  let settings: ExternalAuthSettings | null = null;
  const url = (env.EXTERNAL_JWKS_URL ?? "").trim();
  if (url) {
    const jwksUrl = new URL(url);
    const local = jwksUrl.hostname === "localhost" || jwksUrl.hostname === "127.0.0.1";
    if (jwksUrl.protocol !== "https:" && !(local && jwksUrl.protocol === "http:")) {
      throw new Error("EXTERNAL_JWKS_URL must be an https URL");
    }
    const issuer = (env.EXTERNAL_JWT_ISSUER ?? "").trim();
    if (!issuer) throw new Error("EXTERNAL_JWT_ISSUER must be set when EXTERNAL_JWKS_URL is");
    if (issuer === env.JWT_ISSUER) throw new Error("EXTERNAL_JWT_ISSUER must differ from JWT_ISSUER");
    const algorithms = listSetting(env.EXTERNAL_JWT_ALGORITHMS).filter((a) =>
      EXTERNAL_ALGORITHMS.includes(a),
    );
    const claims: ClaimMap = {};
    for (const pair of listSetting(env.EXTERNAL_JWT_CLAIMS)) {
      const [field = "", path = ""] = pair.split("=", 2);
      if (CLAIM_FIELDS.has(field) && path) claims[field as ClaimField] = path;
    }
    settings = {
      jwksUrl,
      issuer,
      audience: listSetting(env.EXTERNAL_JWT_AUDIENCE),
      algorithms: algorithms.length > 0 ? algorithms : [...EXTERNAL_ALGORITHMS],
      claims,
    };
  }
  external.set(env, settings);
  return settings;
}
