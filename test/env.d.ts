import type { D1Migration } from "cloudflare:test";

declare module "vitest" {
  interface ProvidedContext {
    /** The local push service (setup/push-service.ts), e.g. http://localhost:41234. */
    pushServiceUrl: string;
    /** The webhook tests' receiver (setup/webhook-receiver.ts), e.g. http://localhost:41235. */
    webhookReceiverUrl: string;
  }
}

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** The history shards' migrations (migrations/history/). */
      TEST_HISTORY_MIGRATIONS: D1Migration[];
      /** The two history shards of the "shards" project (test/vitest.config.ts); unbound elsewhere. */
      SHARD_A: D1Database;
      SHARD_B: D1Database;
      FUZZ_SEED: string;
      /** An empty database for migration tests (test/vitest.config.ts). */
      MIGRATION_TEST_DB: D1Database;
    }
  }
}
