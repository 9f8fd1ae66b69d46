import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as fc from "fast-check";
import { HISTORY_MIGRATIONS_TABLE, LEGACY_SHARD, shardDb, shardNames } from "../../src/db/shards";

// Runs before each test file; applyD1Migrations skips migrations that were already applied. Every
// database gets its role's migrations, as `npm run dev` and `npm run deploy` apply them
// (src/cli/d1-migrate.mjs): the directory's to DB, the history's to every shard of HISTORY_SHARDS
// and to HISTORY_0, the shard of conversations from before sharding.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (const shard of new Set([LEGACY_SHARD, ...shardNames(env.HISTORY_SHARDS)])) {
  await applyD1Migrations(shardDb(env, shard), env.TEST_HISTORY_MIGRATIONS, HISTORY_MIGRATIONS_TABLE);
}

// A fixed seed (set in CI) makes every property test replay the same inputs; see vitest.config.ts.
const seed = Number.parseInt(env.FUZZ_SEED, 10);
if (Number.isSafeInteger(seed)) fc.configureGlobal({ seed });
