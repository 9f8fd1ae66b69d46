// Applies the D1 migrations of every database the Worker binds: the directory (DB, migrations/) and
// each history shard (migrations/history/), as wrangler.toml declares them for the environment (each
// binding's `migrations_dir` and `migrations_table`). Two bindings may name the same database (a
// deployment from before sharding, whose directory is also its first shard); each keeps its own
// table of applied migrations.
//
//   node src/cli/d1-migrate.mjs --local [--persist-to <dir>]      (npm run dev, the e2e test, the benchmark)
//   node src/cli/d1-migrate.mjs --remote [--env <name>]           (npm run deploy, before the new code serves)

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** The D1 bindings of wrangler.toml (for `env`, or the top level) that have migrations. */
export async function migratedBindings(env) {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml"), env });
  return (config.d1_databases ?? []).filter((db) => db.migrations_dir);
}

/** Runs `wrangler d1 migrations apply` for every such binding; `args` are wrangler's flags. */
export async function migrateAll(args, env) {
  const bindings = await migratedBindings(env);
  if (bindings.length === 0) throw new Error("wrangler.toml declares no D1 binding with a migrations_dir");
  for (const { binding } of bindings) {
    const envArgs = [`--env=${env ?? ""}`];
    const run = spawnSync(
      process.execPath,
      [WRANGLER, "d1", "migrations", "apply", binding, ...envArgs, ...args],
      // Migrations apply without asking (a remote apply otherwise waits for a yes on a terminal).
      { cwd: ROOT, stdio: "inherit", env: { ...process.env, CI: "true" } },
    );
    if (run.status !== 0) throw new Error(`d1 migrations apply ${binding} failed (exit ${run.status})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const envAt = args.indexOf("--env");
  const env = envAt >= 0 ? args[envAt + 1] : undefined;
  if (envAt >= 0) args.splice(envAt, 2);
  if (!args.includes("--local") && !args.includes("--remote")) {
    console.error("usage: d1-migrate.mjs --local [--persist-to <dir>] | --remote [--env <name>]");
    process.exit(2);
  }
  try {
    await migrateAll(args, env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
