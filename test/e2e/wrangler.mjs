// Starts the Worker with `wrangler dev` for the browser test: a fresh persist directory with the D1
// migrations applied, a random JWT secret, 127.0.0.1 only, free ports. stop() ends the whole process
// group it started (wrangler and its workerd children), by pid, and removes the directory.

import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** Keeps wrangler and Miniflare off the network (telemetry, the Request.cf fetch) and non-interactive. */
const QUIET_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion with a time limit; rejects with its output on failure. */
function run(command, args, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...QUIET_ENV, CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${what} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the web client when .build/client is missing or older than its sources (client and protocol). */
export async function ensureClientBuild() {
  const bundle = join(ROOT, ".build/client/app.js");
  const sources = Math.max(newestMtime(join(ROOT, "src/client")), newestMtime(join(ROOT, "src/protocol")));
  const fresh =
    existsSync(bundle) &&
    existsSync(join(ROOT, ".build/client/index.html")) &&
    statSync(bundle).mtimeMs >= sources;
  if (fresh) return false;
  await run("npm", ["run", "-s", "build:client"], "npm run build:client", 120_000);
  return true;
}

/** A fresh Web Push (VAPID) key pair, base64url, so the push routes answer as in production. */
function vapidVars() {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  return {
    VAPID_PUBLIC_KEY: point.toString("base64url"),
    VAPID_PRIVATE_KEY: jwk.d,
    VAPID_SUBJECT: "mailto:e2e@example.com",
  };
}

/** `vars` override wrangler.toml's [vars] (e.g. a smaller REPLAY_LIMIT). */
export async function startWrangler({ timeoutMs = 90_000, vars = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-e2e-"));
  const persist = join(dir, "state");
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const secret = randomBytes(36).toString("base64url"); // 48 characters
  let child = null;
  let log = "";
  const server = {
    url: `http://127.0.0.1:${port}`,
    /** The JWT_SECRET it runs with: a scenario can sign a token that is about to expire. */
    secret,
    log: () => log,
    async stop() {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        killGroup(child.pid, "SIGTERM");
        const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!done) {
          killGroup(child.pid, "SIGKILL");
          await Promise.race([exited, sleep(2000)]);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // Every D1 binding's migrations: the directory's and the history shards' (src/cli/d1-migrate.mjs).
    await run(
      process.execPath,
      [join(ROOT, "src/cli/d1-migrate.mjs"), "--local", "--persist-to", persist],
      "d1 migrations",
      120_000,
    );
    // Its own process group, so stop() reaches workerd too (wrangler starts it as a child).
    child = spawn(
      process.execPath,
      [
        WRANGLER,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--inspector-port",
        String(inspectorPort),
        "--local",
        "--persist-to",
        persist,
        "--var",
        `JWT_SECRET:${secret}`,
        "--var",
        "ENVIRONMENT:development",
        ...Object.entries({ ...vapidVars(), ...vars }).flatMap(([key, value]) => [
          "--var",
          `${key}:${value}`,
        ]),
        "--show-interactive-dev-session=false",
      ],
      { cwd: ROOT, env: QUIET_ENV, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
      if (Date.now() > deadline)
        throw new Error(`wrangler dev did not answer /healthz within ${timeoutMs} ms:\n${log}`);
      try {
        const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
