// `npm run check:deploy` (part of `npm test`, so CI runs it): proves the deploy configuration of every
// environment of wrangler.toml without an account, so a broken binding fails the build, not the deploy.
//
//   - `wrangler deploy --dry-run` for the top level and each [env.*]: the config validates, the client
//     builds within its budget, the Worker bundles; a wrangler warning counts as a failure (a var
//     missing from an environment is only a warning to wrangler).
//   - Every environment binds what the top level binds (D1, R2, datasets, rate limits, objects,
//     queues), lists the same vars and required secrets, and has a D1 binding with the history
//     migrations for every name in its HISTORY_SHARDS.
//   - No two environments share a Worker name, database, bucket, dataset, queue or rate-limit
//     namespace (staging writing into production's data, or sharing its login counts).
//   - No database_id placeholder: databases are found by name, or created by the first deploy.
//
//   node src/cli/check-deploy.mjs

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const CONFIG = join(ROOT, "wrangler.toml");

const { unstable_readConfig, experimental_readRawConfig } = await import("wrangler");
const raw = experimental_readRawConfig({ config: CONFIG }).rawConfig;
const envs = [undefined, ...Object.keys(raw.env ?? {})];
const label = (env) => env ?? "top level";
const problems = [];

const byName = (list, key, value) => Object.fromEntries((list ?? []).map((b) => [b[key], b[value]]));

/** What an environment binds, by kind: binding name → the resource it names. */
function bindingsOf(config) {
  return {
    d1: byName(config.d1_databases, "binding", "database_name"),
    r2: byName(config.r2_buckets, "binding", "bucket_name"),
    datasets: byName(config.analytics_engine_datasets, "binding", "dataset"),
    ratelimits: byName(config.ratelimits, "name", "namespace_id"),
    objects: byName(config.durable_objects?.bindings, "name", "class_name"),
    queues: byName(config.queues?.producers, "binding", "queue"),
    // A consumer has no binding name: keyed by its position, naming its queue and dead-letter queue.
    consumers: Object.fromEntries(
      (config.queues?.consumers ?? []).map((c, i) => [
        `consumer ${i}`,
        [c.queue, c.dead_letter_queue].filter(Boolean).join(" → "),
      ]),
    ),
  };
}

const configs = new Map(envs.map((env) => [env, unstable_readConfig({ config: CONFIG, env })]));
const top = configs.get(undefined);
const topBindings = bindingsOf(top);
const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

for (const [env, config] of configs) {
  const bindings = bindingsOf(config);
  for (const kind of Object.keys(topBindings)) {
    const want = Object.keys(topBindings[kind]);
    const have = Object.keys(bindings[kind]);
    if (!sameSet(want, have)) {
      problems.push(`${label(env)}: ${kind} bindings [${have}] differ from the top level's [${want}]`);
    }
  }
  const vars = Object.keys(config.vars ?? {});
  const topVars = Object.keys(top.vars ?? {});
  for (const name of topVars.filter((v) => !vars.includes(v)))
    problems.push(`${label(env)}: var ${name} missing`);
  for (const name of vars.filter((v) => !topVars.includes(v))) {
    problems.push(`${label(env)}: var ${name} is not at the top level (local runs and tests would lack it)`);
  }
  if (!sameSet(config.secrets?.required ?? [], top.secrets?.required ?? [])) {
    problems.push(`${label(env)}: [secrets] required differs from the top level's`);
  }
  const shards = String(config.vars?.HISTORY_SHARDS ?? "HISTORY_0")
    .split(/[\s,]+/)
    .filter(Boolean);
  for (const shard of shards) {
    const db = (config.d1_databases ?? []).find((d) => d.binding === shard);
    if (!db) problems.push(`${label(env)}: HISTORY_SHARDS names ${shard}, which is not a D1 binding`);
    else if (db.migrations_dir !== "migrations/history") {
      problems.push(`${label(env)}: shard ${shard} must have migrations_dir "migrations/history"`);
    }
  }
  for (const db of config.d1_databases ?? []) {
    if (db.database_id && /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(db.database_id)) {
      problems.push(
        `${label(env)}: ${db.binding} has a placeholder database_id (leave it out: found by name)`,
      );
    }
  }
}

// Resources no two environments may share (within one environment, two bindings may name one database).
const owners = new Map();
for (const [env, config] of configs) {
  const bindings = bindingsOf(config);
  const resources = [
    ["Worker", config.name],
    ...Object.values(bindings.d1).map((name) => ["D1 database", name]),
    ...Object.values(bindings.r2).map((name) => ["R2 bucket", name]),
    ...Object.values(bindings.datasets).map((name) => ["dataset", name]),
    ...Object.values(bindings.ratelimits).map((id) => ["rate-limit namespace", id]),
    ...Object.values(bindings.queues).map((name) => ["queue", name]),
    ...(config.queues?.consumers ?? []).flatMap((c) =>
      [c.queue, c.dead_letter_queue].filter(Boolean).map((name) => ["consumed queue", name]),
    ),
  ];
  for (const [kind, name] of resources) {
    const key = `${kind} ${name}`;
    const owner = owners.get(key);
    if (owner !== undefined && owner !== label(env))
      problems.push(`${key} is used by both ${owner} and ${label(env)}`);
    owners.set(key, label(env));
  }
}

const outdir = mkdtempSync(join(tmpdir(), "edge-chat-dry-run-"));
try {
  for (const env of envs) {
    const run = spawnSync(
      process.execPath,
      [WRANGLER, "deploy", "--dry-run", "--outdir", join(outdir, env ?? "top"), `--env=${env ?? ""}`],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, CI: "true", NO_COLOR: "1", FORCE_COLOR: "0", WRANGLER_SEND_METRICS: "false" },
      },
    );
    const output = `${run.stdout}\n${run.stderr}`;
    const client = output.match(/client: \.build\/client\/app\.js [^\n]*/)?.[0];
    if (run.status !== 0) problems.push(`${label(env)}: wrangler deploy --dry-run failed:\n${output}`);
    else if (/\bWARNING\b|▲/.test(output)) problems.push(`${label(env)}: wrangler warned:\n${output}`);
    else console.log(`check:deploy: ${label(env)} (${configs.get(env).name}) dry run ok; ${client ?? ""}`);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`check:deploy: ${problem}`);
  process.exit(1);
}
console.log(`check:deploy: ${envs.length} deployments ok (${envs.map(label).join(", ")})`);
