import type { D1Migration } from "cloudflare:test";

declare module "vitest" {
  interface ProvidedContext {
    /** The local push service (setup/push-service.ts), e.g. http://localhost:41234. */
    pushServiceUrl: string;
  }
}

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      FUZZ_SEED: string;
      /** An empty database for migration tests (test/vitest.config.ts). */
      MIGRATION_TEST_DB: D1Database;
    }
  }
}
