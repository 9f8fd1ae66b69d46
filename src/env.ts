import type { Limits } from "./config";
import type { VerifiedToken } from "./auth/tokens";

/** Hono's generics for this Worker: the bindings and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    limits: Limits;
    /** Set by requireAuth: the verified caller. */
    auth: VerifiedToken;
  };
}

/**
 * Optional secrets (wrangler.toml lists only the required JWT_SECRET): each absent or empty turns
 * its feature off with a clear 503, so a Worker deploys without them.
 */
interface OptionalSecrets {
  /** Comma-separated keys of the server API (/api/server/*). */
  SERVER_API_KEYS?: string;
  /** The Web Push key pair (README, "Notifications"). */
  VAPID_PUBLIC_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
  /** Signs webhook deliveries; without it webhooks are off (README, "Embed it in your app"). */
  WEBHOOK_SECRET?: string;
}

declare global {
  interface Env extends OptionalSecrets {}
  namespace Cloudflare {
    interface Env extends OptionalSecrets {}
  }
}
