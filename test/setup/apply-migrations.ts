import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as fc from "fast-check";

// Runs before each test file; applyD1Migrations skips migrations that were already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// A fixed seed (set in CI) makes every property test replay the same inputs; see vitest.config.ts.
const seed = Number.parseInt(env.FUZZ_SEED, 10);
if (Number.isSafeInteger(seed)) fc.configureGlobal({ seed });
