// Starts the Worker locally on workerd for the benchmark, and measures the server's processes.
//
// Three ways to start it (--server):
//   miniflare     wrangler bundles the Worker (`wrangler deploy --dry-run`), and Miniflare (wrangler's
//                 own copy, so the same workerd binary) serves it directly: one workerd process.
//   wrangler-dev  the `wrangler dev` CLI: a proxy workerd in front of the user workerd.
//   start-worker  wrangler's `unstable_startWorker` API: the same proxy arrangement as wrangler dev.
// Every mode gets a fresh temporary persist directory with the D1 migrations applied by
// `wrangler d1 migrations apply DB --local --persist-to <dir>`, listens on 127.0.0.1 only, and is
// stopped (every process of its tree, by pid) by stop().

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const SERVE = fileURLToPath(new URL("./serve.mjs", import.meta.url));

/** Keeps wrangler and Miniflare from reaching out to the network (telemetry, the Request.cf fetch). */
export const QUIET_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "1",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

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

// ---- /proc helpers: the server's process tree, its memory and CPU time ----

const CLK_TCK = 100; // Linux USER_HZ

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const f = s.slice(close + 2).split(" ");
    // f[0] = state (field 3); ppid is field 4, utime 14, stime 15.
    return { pid, comm, ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

/** Every live process whose ancestry reaches `root` (root included). */
export function processTree(root) {
  const all = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.push(st);
  }
  const byParent = new Map();
  for (const p of all) {
    if (!byParent.has(p.ppid)) byParent.set(p.ppid, []);
    byParent.get(p.ppid).push(p);
  }
  const out = [];
  const rootStat = all.find((p) => p.pid === root);
  if (!rootStat) return out;
  const queue = [rootStat];
  while (queue.length > 0) {
    const p = queue.shift();
    out.push(p);
    for (const c of byParent.get(p.pid) ?? []) queue.push(c);
  }
  return out;
}

function statusKb(pid, key) {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has spent busy (all cores), from /proc/stat. */
export function machineBusySeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Microseconds during which some task on the machine was stalled on I/O (PSI), or null. */
export function ioStallMicros() {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync("/proc/pressure/io", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export class Server {
  constructor({ mode, child, url, dir, log }) {
    this.mode = mode;
    this.child = child;
    this.url = url;
    this.dir = dir;
    this.log = log;
    this.knownPids = new Set();
    this.stopped = false;
  }

  /** The workerd processes serving the Worker (in wrangler-dev/start-worker: the proxy's too). */
  workerd() {
    const tree = processTree(this.child.pid);
    for (const p of tree) this.knownPids.add(p.pid);
    return tree.filter((p) => p.comm === "workerd");
  }

  /** Resets the peak-RSS counter (VmHWM) of the workerd processes; false if the kernel refused. */
  resetPeak() {
    let ok = true;
    for (const p of this.workerd()) {
      try {
        writeFileSync(`/proc/${p.pid}/clear_refs`, "5");
      } catch {
        ok = false;
      }
    }
    return ok;
  }

  /** Sum over the workerd processes of VmHWM (peak RSS since start or resetPeak) and VmRSS, in MiB. */
  memory() {
    let hwm = 0;
    let rss = 0;
    for (const p of this.workerd()) {
      hwm += statusKb(p.pid, "VmHWM");
      rss += statusKb(p.pid, "VmRSS");
    }
    return { peakMiB: hwm / 1024, rssMiB: rss / 1024 };
  }

  /** CPU seconds used so far by the workerd processes. */
  cpuSeconds() {
    let ticks = 0;
    for (const p of this.workerd()) ticks += p.cpuTicks;
    return ticks / CLK_TCK;
  }

  /**
   * Seconds the workerd threads spent runnable but waiting for a CPU (schedstat): on a shared
   * machine, how much other processes (or the load generator) held the server back.
   */
  runQueueWaitSeconds() {
    let ns = 0;
    for (const p of this.workerd()) {
      let tasks = [];
      try {
        tasks = readdirSync(`/proc/${p.pid}/task`);
      } catch {
        continue;
      }
      for (const t of tasks) {
        try {
          ns += Number(readFileSync(`/proc/${p.pid}/task/${t}/schedstat`, "utf8").split(" ")[1]);
        } catch {
          // thread exited
        }
      }
    }
    return ns / 1e9;
  }

  /** Waits until the server has used less than `maxShare` of a core over `windowMs` (or `timeoutMs`). */
  async settle({ windowMs = 300, maxShare = 0.05, timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last = this.cpuSeconds();
    while (Date.now() < deadline) {
      await sleep(windowMs);
      const now = this.cpuSeconds();
      if ((now - last) / (windowMs / 1000) < maxShare) return true;
      last = now;
    }
    return false;
  }

  /** Stops every process of the server's tree (by pid) and deletes the persist directory. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of processTree(this.child.pid)) this.knownPids.add(p.pid);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const deadline = Date.now() + 5000;
      while (this.child.exitCode === null && this.child.signalCode === null && Date.now() < deadline)
        await sleep(50);
    }
    for (const pid of this.knownPids) {
      try {
        process.kill(pid, 0);
        process.kill(pid, "SIGKILL");
      } catch {
        // exited
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }

  /** Synchronous last resort for process exit handlers. */
  killNow() {
    for (const p of processTree(this.child.pid)) this.knownPids.add(p.pid);
    this.knownPids.add(this.child.pid);
    for (const pid of this.knownPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

/**
 * Starts the server and resolves once GET /healthz answers 200.
 * `vars`: settings of wrangler.toml [vars] (and the JWT_SECRET secret) to override.
 */
export async function startServer({
  mode,
  vars,
  inspectorPort,
  minify = true,
  log = () => {},
  onChild = () => {},
}) {
  const dir = mkdtempSync(join(tmpdir(), "edge-chat-bench-"));
  let child;
  try {
    ensureClientBuild();
    log(`migrating local D1 in ${dir}`);
    runSync(
      [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", dir],
      "wrangler d1 migrations apply",
    );
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
        const args = [WRANGLER, "deploy", "--dry-run", "--outdir", bundle];
        if (!minify) args.push("--minify=false");
        runSync(args, "wrangler deploy --dry-run");
      }
      const spec = JSON.stringify({ mode, port, persist: dir, bundle, vars, inspectorPort });
      child = spawn(process.execPath, [SERVE, spec], {
        cwd: ROOT,
        env: QUIET_ENV,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } else {
      throw new Error(`unknown --server ${mode} (miniflare, wrangler-dev, start-worker)`);
    }
    onChild(child);
    let output = "";
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const url = `http://127.0.0.1:${port}`;
    const server = new Server({ mode, child, url, dir, log });
    server.output = () => output;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
      }
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`server did not answer /healthz within 90 s:\n${output}`);
      }
      await sleep(200);
    }
    server.workerd();
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
