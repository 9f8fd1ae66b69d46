// `npm run deploy` (the top level of wrangler.toml), `npm run deploy:staging`, `npm run deploy:production`:
// ships the Worker so that the new code never meets an old database schema.
//
//   1. Every D1 database the environment binds by name exists: one the account lacks is created
//      (`wrangler d1 create`), as `wrangler deploy`'s automatic provisioning would create it, only
//      earlier, so that step 2 can reach it on a first deploy.
//      Every queue it names (the webhook events and their dead-letter queue) likewise: `wrangler
//      deploy` refuses a queue the account lacks.
//   2. Every database gets its role's migrations (src/cli/d1-migrate.mjs: the directory and every
//      history shard). The Worker still serving is the previous version, so a migration must keep
//      working for it: add tables and columns, never drop or rename one the running code reads
//      (drop it in a later deploy, once no version reads it).
//   3. `wrangler deploy`: builds the web client ([build] in wrangler.toml), provisions what is still
//      missing (the R2 bucket), uploads, and switches traffic to the new version at once. A required
//      secret the Worker lacks (a first deploy) is generated when it is a random key the service only
//      needs to keep (JWT_SECRET) and passed with --secrets-file from a private temporary file;
//      Cloudflare keeps it, nothing prints it.
//
// Why not `wrangler versions upload` → migrate → `wrangler versions deploy`: an upload cannot carry
// a Durable Object migration (the first deploy has one), and migrating first already keeps the old
// version working while the new one is not live yet.
//
//   node src/cli/deploy.mjs [--env <name>] [any `wrangler deploy` flag, e.g. --secrets-file <file>]

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrateAll, migratedBindings } from "./d1-migrate.mjs";
import { randomSecret } from "./dev-vars.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** Required secrets this script may create on a Worker's first deploy: keys nobody needs to read back. */
const GENERATED = { JWT_SECRET: randomSecret };

const args = process.argv.slice(2);
const envAt = args.indexOf("--env");
const env = envAt >= 0 ? args[envAt + 1] : undefined;
if (envAt >= 0) args.splice(envAt, 2);
// The top level is `--env=""`: named, as wrangler asks of a file that defines environments.
const envArgs = [`--env=${env ?? ""}`];

function wrangler(argv, { capture = false } = {}) {
  const run = spawnSync(process.execPath, [WRANGLER, ...argv], {
    cwd: ROOT,
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  return { ok: run.status === 0, stdout: run.stdout ?? "", stderr: run.stderr ?? "" };
}

/** The JSON a wrangler command printed (after any banner it writes first). */
function json(text, open) {
  const at = text.indexOf(open);
  return at < 0 ? undefined : JSON.parse(text.slice(at));
}

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

const { unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml"), env });
console.log(`deploy: ${config.name}${env ? ` (env ${env})` : ""}`);

// 1. Databases by name.
const wanted = new Set(
  (await migratedBindings(env))
    .filter((db) => !db.database_id && db.database_name)
    .map((db) => db.database_name),
);
if (wanted.size > 0) {
  const listed = wrangler(["d1", "list", "--json"], { capture: true });
  if (!listed.ok) fail(`wrangler d1 list failed (logged in? \`npx wrangler login\`):\n${listed.stderr}`);
  const existing = new Set((json(listed.stdout, "[") ?? []).map((db) => db.name));
  for (const name of wanted) {
    if (existing.has(name)) continue;
    console.log(`deploy: creating D1 database ${name}`);
    if (!wrangler(["d1", "create", name]).ok) fail(`wrangler d1 create ${name} failed`);
  }
}

// 1b. Queues by name: producers, consumers and their dead-letter queues.
const queues = new Set([
  ...(config.queues?.producers ?? []).map((q) => q.queue),
  ...(config.queues?.consumers ?? []).flatMap((q) =>
    q.dead_letter_queue ? [q.queue, q.dead_letter_queue] : [q.queue],
  ),
]);
for (const name of queues) {
  if (wrangler(["queues", "info", name], { capture: true }).ok) continue;
  console.log(`deploy: creating queue ${name}`);
  if (!wrangler(["queues", "create", name]).ok) fail(`wrangler queues create ${name} failed (logged in?)`);
}

// 2. Migrations, while the previous version still serves.
try {
  await migrateAll(["--remote"], env);
} catch (err) {
  fail(`${err instanceof Error ? err.message : err}; nothing was deployed`);
}

// 3. The Worker, with any required secret it lacks and this script may generate.
const deployArgs = ["deploy", ...envArgs, ...args];
let secretsDir;
if (!args.includes("--secrets-file")) {
  const listed = wrangler(["secret", "list", ...envArgs, "--format", "json"], { capture: true });
  // A Worker that does not exist yet has no secrets (the command fails for it).
  const present = new Set(listed.ok ? (json(listed.stdout, "[") ?? []).map((s) => s.name) : []);
  const missing = (config.secrets?.required ?? []).filter((name) => !present.has(name));
  const unknown = missing.filter((name) => !(name in GENERATED));
  if (unknown.length > 0) {
    fail(
      `required secrets not set: ${unknown.join(", ")}. Set them with \`npx wrangler secret put NAME${env ? ` --env ${env}` : ""}\`, ` +
        "or on a first deploy pass them in a file: `npm run deploy -- --secrets-file <file>`",
    );
  }
  if (missing.length > 0) {
    secretsDir = mkdtempSync(join(tmpdir(), "edge-chat-secrets-"));
    const file = join(secretsDir, "secrets.json");
    const values = Object.fromEntries(missing.map((name) => [name, GENERATED[name]()]));
    writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
    deployArgs.push("--secrets-file", file);
    console.log(`deploy: generating ${missing.join(", ")} (kept by Cloudflare only)`);
  }
}
const deployed = wrangler(deployArgs).ok;
if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
if (!deployed) fail("wrangler deploy failed");
