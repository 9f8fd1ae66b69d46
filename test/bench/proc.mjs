// What the benchmark measures of a server process from /proc (Linux): its process tree, CPU time,
// resident memory, time spent waiting for a core, and the machine's own load. The product
// (server.mjs) and the floor (floor.mjs) are both a ServedProcess, so they are measured alike.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/**
 * A server the bench started as a child process. `serving(p)` picks, from the child's process tree,
 * the processes that do the serving (workerd for the product, the Node process for the floor): their
 * CPU and memory are the server's figures.
 */
export class ServedProcess {
  constructor({ child, url, serving = () => true, cleanup = () => {} }) {
    this.child = child;
    this.url = url;
    this.serving = serving;
    this.cleanup = cleanup;
    this.knownPids = new Set();
    this.stopped = false;
  }

  processes() {
    const tree = processTree(this.child.pid);
    for (const p of tree) this.knownPids.add(p.pid);
    return tree.filter(this.serving);
  }

  /** Resets the peak-RSS counter (VmHWM) of the serving processes; false if the kernel refused. */
  resetPeak() {
    let ok = true;
    for (const p of this.processes()) {
      try {
        writeFileSync(`/proc/${p.pid}/clear_refs`, "5");
      } catch {
        ok = false;
      }
    }
    return ok;
  }

  /** Sum over the serving processes of VmHWM (peak RSS since start or resetPeak) and VmRSS, in MiB. */
  memory() {
    let hwm = 0;
    let rss = 0;
    for (const p of this.processes()) {
      hwm += statusKb(p.pid, "VmHWM");
      rss += statusKb(p.pid, "VmRSS");
    }
    return { peakMiB: hwm / 1024, rssMiB: rss / 1024 };
  }

  /** CPU seconds used so far by the serving processes. */
  cpuSeconds() {
    let ticks = 0;
    for (const p of this.processes()) ticks += p.cpuTicks;
    return ticks / CLK_TCK;
  }

  /**
   * Seconds the serving threads spent runnable but waiting for a CPU (schedstat): on a shared
   * machine, how much other processes (or the load generator) held the server back.
   */
  runQueueWaitSeconds() {
    let ns = 0;
    for (const p of this.processes()) {
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

  /** Stops every process of the tree (by pid), then runs the cleanup (e.g. the persist directory). */
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
    this.cleanup();
  }

  /** Synchronous last resort for process exit handlers. */
  killNow() {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of processTree(this.child.pid)) this.knownPids.add(p.pid);
    this.knownPids.add(this.child.pid);
    for (const pid of this.knownPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited
      }
    }
    this.cleanup();
  }
}

/** Resolves once GET <url>/healthz answers 200; throws if the child exits or `timeoutMs` passes. */
export async function waitHealthy(child, url, output, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited early (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`server did not answer /healthz within ${timeoutMs / 1000} s:\n${output()}`);
    await sleep(200);
  }
}

/** Keeps the last `max` characters a child wrote to stdout and stderr. */
export function captureOutput(child, max = 20_000) {
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-max);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => output;
}
