// `npm run dev`: completes .dev.vars (src/cli/dev-vars.mjs), applies every local D1 database its
// migrations (src/cli/d1-migrate.mjs), then starts `wrangler dev` (which builds the web client
// itself, wrangler.toml's [build]). Arguments are passed on to `wrangler dev`.
//
// wrangler dev loads from .dev.vars only the names wrangler.toml knows (its vars, and the secrets it
// lists as required: JWT_SECRET); every other entry, the optional secrets (the server API's keys,
// the VAPID pair), is passed here as --var, so the local server has push and the server API on, as
// a deployment with those secrets set would.

import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./dev-vars.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

const vars = ensureDevVars();
const { unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
const known = new Set([...Object.keys(config.vars ?? {}), ...(config.secrets?.required ?? [])]);
const migrate = spawnSync(process.execPath, [join(ROOT, "src/cli/d1-migrate.mjs"), "--local"], {
  cwd: ROOT,
  stdio: "inherit",
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const optional = Object.entries(vars)
  .filter(([name, value]) => value && !known.has(name))
  .flatMap(([name, value]) => ["--var", `${name}:${value}`]);
const dev = spawn(process.execPath, [WRANGLER, "dev", ...optional, ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
