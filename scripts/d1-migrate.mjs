// Applies the D1 migrations of every database the Worker binds: the directory (DB, migrations/) and
// each history shard (migrations/history/), as wrangler.toml declares them (its `migrations_dir`
// and `migrations_table` per binding). Two bindings may name the same database (the default layout:
// the directory is also the first shard); each keeps its own table of applied migrations.
//
//   node scripts/d1-migrate.mjs --local [--persist-to <dir>]     (npm run dev, the benchmark)
//   node scripts/d1-migrate.mjs --remote                         (npm run deploy)

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
if (!args.includes("--local") && !args.includes("--remote")) {
  console.error("usage: d1-migrate.mjs --local [--persist-to <dir>] | --remote");
  process.exit(2);
}

const { unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
const bindings = (config.d1_databases ?? []).filter((db) => db.migrations_dir).map((db) => db.binding);
if (bindings.length === 0) {
  console.error("wrangler.toml declares no D1 binding with a migrations_dir");
  process.exit(1);
}

const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
for (const binding of bindings) {
  const run = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", binding, ...args], {
    cwd: ROOT,
    stdio: "inherit",
    // Migrations apply without asking (a remote apply otherwise waits for a yes on a terminal).
    env: { ...process.env, CI: "true" },
  });
  if (run.status !== 0) {
    console.error(`d1 migrations apply ${binding} failed`);
    process.exit(run.status ?? 1);
  }
}
