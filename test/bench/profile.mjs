// --cpu-profile: a V8 CPU profile of the Worker's isolate (the Worker and its Durable Objects share
// it) over each scenario's send phase, through workerd's inspector (Chrome DevTools Protocol).
// Writes <scenario>.cpuprofile (open in Chrome DevTools / speedscope) and prints the top self times.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class Profiler {
  /** Profilers for the isolates whose inspector id is in `ids` (Worker, D1 simulator, entry worker). */
  static async attachAll(inspectorPort, ids = ["core:user:edge-chat", "d1:db", "core:entry"]) {
    const out = [];
    for (const id of ids) {
      try {
        out.push(await Profiler.attach(inspectorPort, id));
      } catch (err) {
        if (id === ids[0]) throw err;
      }
    }
    return out;
  }

  static async attach(inspectorPort, isolateName = "core:user:edge-chat") {
    const base = `http://127.0.0.1:${inspectorPort}`;
    let targets = [];
    for (let i = 0; i < 50 && targets.length === 0; i++) {
      try {
        targets = await (await fetch(`${base}/json/list`, { signal: AbortSignal.timeout(2000) })).json();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const target = targets.find((t) => t.id === isolateName);
    if (!target) throw new Error(`no inspector target at ${base}`);
    const url = target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${inspectorPort}/${target.id}`;
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error(`inspector connection to ${url} failed`)));
    });
    const p = new Profiler(ws, target);
    await p.send("Profiler.enable");
    await p.send("Profiler.setSamplingInterval", { interval: 200 });
    return p;
  }

  constructor(ws, target) {
    this.ws = ws;
    this.target = target;
    this.id = 0;
    this.pending = new Map();
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(ev.data);
      const w = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (!w) return;
      this.pending.delete(msg.id);
      if (msg.error) w.reject(new Error(JSON.stringify(msg.error)));
      else w.resolve(msg.result);
    });
  }

  send(method, params = {}) {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`inspector: ${method} timed out`));
      }, 30_000).unref();
    });
  }

  start() {
    return this.send("Profiler.start");
  }

  /** The isolate's V8 heap: {usedSize, totalSize} in bytes. */
  async heap() {
    await this.send("Runtime.enable").catch(() => {});
    return this.send("Runtime.getHeapUsage");
  }

  async stop() {
    const { profile } = await this.send("Profiler.stop");
    return profile;
  }

  close() {
    try {
      this.ws.close();
    } catch {
      // closed
    }
  }
}

/** Self time per function (name + file:line), heaviest first, as percentages of all samples. */
export function topSelf(profile, n = 20) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  const total = profile.samples.length || 1;
  for (const id of profile.samples) {
    const node = byId.get(id);
    const cf = node.callFrame;
    const file = cf.url ? cf.url.split("/").pop() : "";
    const key = `${cf.functionName || "(anonymous)"} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, c]) => ({ fn, pct: (100 * c) / total }));
}

/** Inclusive time per function (a function counted once per sample however deep it recurses). */
export function topInclusive(profile, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const counts = new Map();
  const total = profile.samples.length || 1;
  for (const id of profile.samples) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      const file = cf.url ? cf.url.split("/").pop() : "";
      const key = `${cf.functionName || "(anonymous)"} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, c]) => ({ fn, pct: (100 * c) / total }));
}

const lines = (xs) => xs.map((x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${x.fn}`).join("\n");

/**
 * Stops every profiler, writes <dir>/<scenario>-<attempt>-<isolate>.cpuprofile, and logs the top
 * functions (in full for the Worker's isolate, briefly for the others). Returns what was written.
 */
export async function saveProfiles(profilers, { dir, name, attempt, log }) {
  const summary = [];
  for (const p of profilers) {
    const profile = await p.stop();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}-${attempt}-${p.target.id.replace(/[^\w.-]+/g, "_")}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    summary.push({ isolate: p.target.id, samples: profile.samples.length, file });
    if (p !== profilers[0]) {
      log(
        `${name}: top self time in ${p.target.id}: ${topSelf(profile, 6)
          .map((x) => `${x.pct.toFixed(1)}% ${x.fn}`)
          .join(", ")}`,
      );
      continue;
    }
    log(`${name}: top self time in ${p.target.id}:\n${lines(topSelf(profile, 25))}`);
    log(`${name}: top inclusive time:\n${lines(topInclusive(profile, 40))}`);
  }
  return summary;
}
