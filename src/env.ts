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
