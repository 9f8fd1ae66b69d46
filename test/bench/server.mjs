// Starts the product (the Worker on local workerd) for the benchmark.
//
// Three ways to start it (--server):
//   miniflare     wrangler bundles the Worker (`wrangler deploy --dry-run`), and Miniflare (wrangler's
//                 own copy, so the same workerd binary) serves it directly: one workerd process.
//                 Only this mode has the METRICS sink (metrics.mjs) and --cpu-profile.
//   wrangler-dev  the `wrangler dev` CLI: a proxy workerd in front of the user workerd.
//   start-worker  wrangler's `unstable_startWorker` API: the same proxy arrangement as wrangler dev.
// Every mode gets a fresh temporary persist directory with every D1 binding's migrations applied
// (src/cli/d1-migrate.mjs --local --persist-to <dir>), listens on 127.0.0.1 only, and is stopped
// (every process of its tree, by pid) by stop(). `persistDir` tells where its local D1 files are.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, ServedProcess, captureOutput, freePort, processTree, waitHealthy } from "./proc.mjs";

export { ROOT };
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const SERVE = fileURLToPath(new URL("./serve.mjs", import.meta.url));
const MIGRATE = join(ROOT, "src/cli/d1-migrate.mjs");

/** Keeps wrangler and Miniflare from reaching out to the network (telemetry, the Request.cf fetch). */
export const QUIET_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "1",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

function runSync(args, what, timeoutMs = 180_000) {
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: QUIET_ENV,
    encoding: "utf8",
    timeout: timeoutMs,
  });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ""}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/** The static client the [assets] config points at; wrangler refuses to start without the directory. */
function ensureClientBuild() {
  if (existsSync(join(ROOT, ".build/client/index.html"))) return;
  const r = spawnSync("npm", ["run", "-s", "build:client"], {
    cwd: ROOT,
    env: QUIET_ENV,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`npm run build:client failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * Starts the product and resolves once GET /healthz answers 200: a ServedProcess measuring the
 * workerd processes of its tree (in wrangler-dev/start-worker: the proxy's too).
 * `vars`: settings of wrangler.toml [vars] (and the JWT_SECRET secret) to override.
 * `controlPort`: (miniflare) where serve.mjs takes D1 batches for seeding (the search scenario).
 */
export async function startServer({ mode, vars, inspectorPort, controlPort, minify = true, log = () => {} }) {
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-bench-"));
  let child;
  let directPort = null;
  try {
    ensureClientBuild();
    log(`migrating local D1 in ${dir}`);
    runSync([MIGRATE, "--local", "--persist-to", dir], "d1 migrations (every binding)");
    const port = await freePort();
    if (mode === "wrangler-dev") {
      const args = [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", dir];
      args.push("--show-interactive-dev-session=false", "--log-level", "warn");
      for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
      child = spawn(process.execPath, args, { cwd: ROOT, env: QUIET_ENV, stdio: ["ignore", "pipe", "pipe"] });
    } else if (mode === "miniflare" || mode === "start-worker") {
      let bundle = "";
      if (mode === "miniflare") {
        bundle = join(dir, "bundle");
        log("bundling with wrangler deploy --dry-run");
        // As deployed (wrangler.toml decides minification), unless profiling wants readable names.
        const args = [WRANGLER, "deploy", "--dry-run", "--env=", "--outdir", bundle];
        if (!minify) args.push("--minify=false");
        runSync(args, "wrangler deploy --dry-run");
      }
      // Miniflare: the Worker also listens on a socket of its own (directPort), without Miniflare's
      // entry worker in front; the load goes there, as it reaches a deployed Worker.
      directPort = mode === "miniflare" ? await freePort() : null;
      const spec = JSON.stringify({
        mode,
        port,
        directPort,
        persist: dir,
        bundle,
        vars,
        inspectorPort,
        controlPort,
      });
      child = spawn(process.execPath, [SERVE, spec], {
        cwd: ROOT,
        env: QUIET_ENV,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } else {
      throw new Error(`unknown --server ${mode} (miniflare, wrangler-dev, start-worker)`);
    }
    const output = captureOutput(child);
    const url = `http://127.0.0.1:${directPort ?? port}`;
    const server = new ServedProcess({
      child,
      url,
      serving: (p) => p.comm === "workerd",
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    });
    server.mode = mode;
    server.output = output;
    server.persistDir = dir;
    // The seeding channel of serve.mjs (miniflare mode, when asked for): see there.
    server.controlUrl = controlPort ? `http://127.0.0.1:${controlPort}` : null;
    // Miniflare's entry port: the METRICS sink answers there (metrics-sink.mjs).
    server.entryUrl = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(child, url, output);
    } catch (err) {
      await server.stop();
      throw err;
    }
    server.processes();
    return server;
  } catch (err) {
    if (child && child.exitCode === null) {
      for (const p of processTree(child.pid)) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
