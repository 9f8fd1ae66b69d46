import type { D1Migration } from "cloudflare:test";

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
