// `npm run bench`: fan-out speed, latency and connection cost of the chat Worker on local workerd.
//
// Starts the Worker (server.mjs), seeds users and conversations through the public REST API, opens
// authenticated WebSockets exactly as a browser would (?access_token=, Origin header, wait for
// `ready`), runs the scenarios of issue 6 with the load generator in worker threads
// (client-worker.mjs), checks every receipt per socket by seq (lost, duplicated, out of order must
// all be 0), prints a table and writes JSON under test/bench/results/. Only 127.0.0.1 is contacted;
// every wait has a timeout and the server is stopped at the end, on failure too.
//
//   npm run bench                                   all scenarios, Miniflare-direct server
//   npm run bench -- --only small,echo --repeat 3   medians of 3 runs
//   npm run bench -- --server wrangler-dev          through `wrangler dev` instead
//   npm run bench -- --help

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Profiler, topInclusive, topSelf } from "./profile.mjs";
import { ROOT, freePort, ioStallMicros, machineBusySeconds, startServer } from "./server.mjs";
import { distribution, median, perSenderP99, table } from "./stats.mjs";

const HELP = `usage: npm run bench -- [options]
  --only <list>          scenarios to run, comma-separated: small,big,many,echo (default: all)
  --server <mode>        miniflare (default) | wrangler-dev | start-worker
  --repeat <n>           runs per scenario; the table shows the median run (default 1)
  --threads <n>          load-generator threads for scenarios with many sockets (default 2)
  --window <n>           override every scenario's in-flight window per sender
  --body-chars <n>       message body length (default 100)
  --connect-concurrency <n>  sockets opening at once, over all threads (default 50)
  --max-group <n>        MAX_GROUP_SIZE for the server (default 1000, the production default)
  --var <NAME=value>     any other [vars] setting for the server (repeatable), e.g. INBOX_NOTIFY_WINDOW_MS=0
  --scenario-timeout <s> per scenario phase (default 120)
  --timeout <s>          whole run (default 1500)
  --out <file>           JSON output (default test/bench/results/bench-<time>.json)
  --cpu-profile          (miniflare only) V8 CPU profile of the Worker isolate over each send phase:
                         <results>/<scenario>.cpuprofile and the top functions printed
  --no-batch             sockets without ?batch=1: one frame per event (default: batched, as the web client)
  --quiet                less progress output`;

if (Number(process.versions.node.split(".")[0]) < 22 || typeof WebSocket !== "function") {
  console.error(
    `bench: needs Node 22+ with a global WebSocket (this is ${process.version}); run it with \`npm run bench\`, which uses the project's pinned Node 24`,
  );
  process.exit(2);
}

const { values: opts } = parseArgs({
  options: {
    only: { type: "string" },
    server: { type: "string", default: "miniflare" },
    repeat: { type: "string", default: "1" },
    threads: { type: "string", default: "2" },
    window: { type: "string" },
    "body-chars": { type: "string", default: "100" },
    "connect-concurrency": { type: "string", default: "50" },
    "max-group": { type: "string", default: "1000" },
    var: { type: "string", multiple: true, default: [] },
    "scenario-timeout": { type: "string", default: "120" },
    timeout: { type: "string", default: "1500" },
    out: { type: "string" },
    quiet: { type: "boolean", default: false },
    "cpu-profile": { type: "boolean", default: false },
    "no-batch": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}

const int = (name, min = 1) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const REPEAT = int("repeat");
const THREADS = int("threads");
const BODY_CHARS = int("body-chars", 40);
const CONNECT_CONCURRENCY = int("connect-concurrency");
const MAX_GROUP = int("max-group", 2);
const PHASE_TIMEOUT_MS = int("scenario-timeout") * 1000;
const RUN_TIMEOUT_MS = int("timeout") * 1000;
const WINDOW = opts.window === undefined ? null : int("window");
const log = opts.quiet
  ? () => {}
  : (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/**
 * The scenarios of issue 6. Sockets are dealt to users round-robin; the first `senders` sockets (one
 * per user) send `perSender` messages each with at most `window` unacknowledged at a time.
 */
const SCENARIOS = {
  small: { sockets: 10, members: 10, senders: 10, perSender: 200, window: 10, title: "small room" },
  big: { sockets: 500, members: 500, senders: 5, perSender: 100, window: 10, title: "big room" },
  many: {
    sockets: 2000,
    members: Math.min(MAX_GROUP, 2000),
    senders: 1,
    perSender: 20,
    window: 5,
    title: "many clients",
  },
  // A direct conversation with one socket open: the cost of one object per message, acks durable.
  echo: { sockets: 1, members: 2, senders: 1, perSender: 5000, window: 100, title: "echo", direct: true },
};
const only = opts.only ? opts.only.split(",").map((s) => s.trim()) : Object.keys(SCENARIOS);
for (const name of only) {
  if (!SCENARIOS[name]) {
    console.error(`unknown scenario ${name}\n\n${HELP}`);
    process.exit(2);
  }
}

const VARS = {
  JWT_SECRET: randomBytes(36).toString("base64url"), // 48 characters
  PBKDF2_ITERATIONS: "1000", // seeding speed only: login/register are not measured
  MESSAGE_RATE_PER_10S: "1000000000",
  MAX_GROUP_SIZE: String(MAX_GROUP),
  // Seeding registers up to 1000 users from one address: the login/register throttles are off.
  AUTH_RATE_LIMITS: "off",
};
for (const kv of opts.var) {
  const i = kv.indexOf("=");
  if (i < 1) {
    console.error(`--var takes NAME=value, got ${kv}\n\n${HELP}`);
    process.exit(2);
  }
  VARS[kv.slice(0, i)] = kv.slice(i + 1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (promise, ms, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref(),
    ),
  ]);

// ---- the server, stopped whatever happens ----

let server = null;
let profilers = [];
const RESULTS_DIR = join(ROOT, "test/bench/results");
let exiting = false;
function emergencyStop() {
  if (server && !server.stopped) {
    server.stopped = true;
    server.killNow();
  }
}
process.on("exit", emergencyStop);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${sig}: stopping the server`);
    emergencyStop();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench: the whole run exceeded ${RUN_TIMEOUT_MS / 1000} s; stopping`);
  emergencyStop();
  process.exit(3);
}, RUN_TIMEOUT_MS);
watchdog.unref();

// ---- REST seeding through the public API ----

class Api {
  constructor(base) {
    this.base = base;
  }
  async call(method, path, { token, body, expect = [200, 201] } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!expect.includes(res.status))
      throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }
}

async function pool(n, concurrency, fn) {
  const out = Array.from({ length: n });
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

async function seedUsers(api, n) {
  const run = randomBytes(3).toString("hex");
  return pool(n, 8, async (i) => {
    const res = await api.call("POST", "/api/auth/register", {
      body: {
        email: `bench-${run}-${i}@example.com`,
        password: "bench-password-1",
        firstName: "Bench",
        lastName: `User ${i}`,
      },
    });
    return { id: res.user.id, token: res.token };
  });
}

const ADD_CHUNK = 100;

async function seedConversation(api, users, cfg, name) {
  const members = users.slice(0, cfg.members);
  const [owner, ...others] = members;
  if (cfg.direct) {
    const res = await api.call("POST", "/api/conversations", {
      token: owner.token,
      body: { participantIds: [others[0].id] },
    });
    return res.conversation.id;
  }
  const first = others.slice(0, ADD_CHUNK - 1);
  const res = await api.call("POST", "/api/conversations", {
    token: owner.token,
    body: { participantIds: first.map((u) => u.id), title: `bench ${name}` },
  });
  const id = res.conversation.id;
  for (let i = first.length; i < others.length; i += ADD_CHUNK) {
    const chunk = others.slice(i, i + ADD_CHUNK);
    await api.call("POST", `/api/conversations/${id}/participants`, {
      token: owner.token,
      body: { userIds: chunk.map((u) => u.id) },
    });
  }
  const view = await api.call("GET", `/api/conversations/${id}`, { token: owner.token });
  if (view.participants.length !== members.length) {
    throw new Error(
      `${name}: expected ${members.length} participants, the server has ${view.participants.length}`,
    );
  }
  return id;
}

// ---- load-generator threads ----

class ClientThread {
  constructor(i) {
    this.i = i;
    this.worker = new Worker(new URL("./client-worker.mjs", import.meta.url));
    this.waiters = new Map();
    this.listeners = new Set();
    this.failed = null;
    this.worker.on("message", (msg) => {
      for (const l of this.listeners) l(msg);
      const w = this.waiters.get(msg.type);
      if (w) {
        this.waiters.delete(msg.type);
        w.resolve(msg);
      }
    });
    this.worker.on("error", (err) => {
      this.failed = err;
      for (const w of this.waiters.values()) w.reject(err);
      this.waiters.clear();
    });
  }
  request(cmd, replyType, timeoutMs) {
    if (this.failed) return Promise.reject(this.failed);
    const p = new Promise((resolve, reject) => this.waiters.set(replyType, { resolve, reject }));
    this.worker.postMessage(cmd, []);
    return withTimeout(p, timeoutMs, `thread ${this.i}: ${cmd.cmd}`);
  }
  post(cmd) {
    this.worker.postMessage(cmd, []);
  }
  async terminate() {
    await this.worker.terminate();
  }
}

// ---- one scenario run ----

function socketSpecs(cfg, users, conversationId, baseUrl) {
  const wsBase = baseUrl.replace(/^http/, "ws");
  const window = WINDOW ?? cfg.window;
  return Array.from({ length: cfg.sockets }, (_, k) => {
    const user = users[k % cfg.members];
    return {
      // batch=1 as the web client does (messages committed together arrive in one frame); --no-batch for one frame per event.
      url: `${wsBase}/api/conversations/${conversationId}/ws?access_token=${encodeURIComponent(user.token)}${opts["no-batch"] ? "" : "&batch=1"}`,
      origin: baseUrl,
      sender: k < cfg.senders ? { index: k, count: cfg.perSender, window } : null,
    };
  });
}

async function runScenario(name, cfg, ctx, attempt) {
  const { api, users, conversationId } = ctx;
  const threadCount = Math.max(1, Math.min(cfg.sockets >= 100 ? THREADS : 1, cfg.sockets));
  const threads = Array.from({ length: threadCount }, (_, i) => new ClientThread(i));
  const specs = socketSpecs(cfg, users, conversationId, server.url);
  const shares = threads.map(() => []);
  specs.forEach((s, k) => shares[k % threadCount].push(s));
  const owner = users[0];
  const tag = `b${attempt}${randomBytes(2).toString("hex")}`;
  try {
    const before = await api.call("GET", `/api/conversations/${conversationId}`, { token: owner.token });
    const rssBeforeConnect = server.memory().rssMiB;
    const peakReset = server.resetPeak();
    const cpu0 = server.cpuSeconds();
    const client0 = process.cpuUsage();
    const t0 = performance.now();

    // Connect every socket and wait for `ready` on each.
    const perThread = Math.max(1, Math.ceil(CONNECT_CONCURRENCY / threadCount));
    const connected = await Promise.all(
      threads.map((t, i) =>
        t.request(
          { cmd: "connect", specs: shares[i], concurrency: perThread, timeoutMs: PHASE_TIMEOUT_MS },
          "connected",
          PHASE_TIMEOUT_MS + 5000,
        ),
      ),
    );
    const connectErrors = connected.reduce((n, c) => n + c.errors, 0);
    const connectSeconds =
      (Math.max(...connected.map((c) => c.lastReadyAt)) - Math.min(...connected.map((c) => c.firstStartAt))) /
      1000;
    const cpuConnect = server.cpuSeconds() - cpu0;
    const rssAfterConnect = server.memory();
    const heapAfterConnect = {};
    for (const p of profilers) {
      const h = await p.heap().catch(() => null);
      if (h)
        heapAfterConnect[p.target.id] = { usedMiB: h.usedSize / 2 ** 20, totalMiB: h.totalSize / 2 ** 20 };
    }
    if (profilers.length) log(`${name}: V8 heaps after connecting: ${JSON.stringify(heapAfterConnect)}`);
    log(
      `${name}: ${cfg.sockets} sockets ready in ${connectSeconds.toFixed(2)} s (${connectErrors} errors), server CPU ` +
        `${cpuConnect.toFixed(2)} s, server RSS ${rssBeforeConnect.toFixed(0)} -> ${rssAfterConnect.rssMiB.toFixed(0)} MiB`,
    );
    if (connectErrors > 0) {
      throw new Error(
        `${name}: ${connectErrors} sockets failed to connect: ${connected.flatMap((c) => c.errorSamples).join("; ")}`,
      );
    }
    // Let the connection phase's frames (presence) drain before measuring the sends.
    const quiet = await Promise.all(
      threads.map((t) => t.request({ cmd: "quiesce", quietMs: 300, timeoutMs: 30_000 }, "quiet", 35_000)),
    );
    const presenceFrames = quiet.reduce((n, q) => n + q.presence, 0);
    await server.settle({ timeoutMs: 10_000 });

    // Send, collect every receipt, stop when every socket has every message (or at the deadline).
    const planned = cfg.senders * cfg.perSender;
    const senderDone = [];
    let allSent;
    const allSentPromise = new Promise((resolve) => (allSent = resolve));
    const listener = (msg) => {
      if (msg.type !== "senderDone") return;
      senderDone.push(msg);
      if (senderDone.length === cfg.senders) allSent();
    };
    threads.forEach((t) => t.listeners.add(listener));
    const cpu1 = server.cpuSeconds();
    const client1 = process.cpuUsage();
    const machine1 = machineBusySeconds();
    const wait1 = server.runQueueWaitSeconds();
    const io1 = ioStallMicros();
    const wall1 = performance.now();
    const results = threads.map(
      (t) =>
        new Promise((resolve, reject) => {
          t.waiters.set("result", { resolve, reject });
        }),
    );
    for (const p of profilers) await p.start();
    for (const t of threads)
      t.post({ cmd: "start", total: planned, bodyChars: BODY_CHARS, timeoutMs: PHASE_TIMEOUT_MS, tag });
    let sendTimedOut = false;
    await withTimeout(allSentPromise, PHASE_TIMEOUT_MS + 2000, "senders").catch(() => {
      sendTimedOut = true;
    });
    const acked = senderDone.reduce((n, s) => n + s.acked, 0);
    for (const t of threads) t.post({ cmd: "expect", total: acked });
    const parts = await withTimeout(Promise.all(results), PHASE_TIMEOUT_MS + 10_000, "results");
    const cpu2 = server.cpuSeconds();
    const profileSummary = [];
    for (const p of profilers) {
      const profile = await p.stop();
      mkdirSync(RESULTS_DIR, { recursive: true });
      const file = join(
        RESULTS_DIR,
        `${name}-${attempt}-${p.target.id.replace(/[^\w.-]+/g, "_")}.cpuprofile`,
      );
      writeFileSync(file, JSON.stringify(profile));
      profileSummary.push({ isolate: p.target.id, samples: profile.samples.length, file });
      if (p !== profilers[0]) {
        log(
          `${name}: top self time in ${p.target.id}: ${topSelf(profile, 6)
            .map((x) => `${x.pct.toFixed(1)}% ${x.fn}`)
            .join(", ")}`,
        );
        continue;
      }
      log(
        `${name}: top self time in ${p.target.id}:\n${topSelf(profile, 25)
          .map((x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${x.fn}`)
          .join("\n")}`,
      );
      log(
        `${name}: top inclusive time:\n${topInclusive(profile, 40)
          .map((x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${x.fn}`)
          .join("\n")}`,
      );
    }
    const client2 = process.cpuUsage(client1);
    const machine2 = machineBusySeconds();
    const wait2 = server.runQueueWaitSeconds();
    const io2 = ioStallMicros();
    const wall2 = performance.now();
    const mem = server.memory();

    // The server's own account: every acked message is stored, numbered without gaps.
    const after = await api.call("GET", `/api/conversations/${conversationId}`, { token: owner.token });
    const page = await api.call(
      "GET",
      `/api/conversations/${conversationId}/messages?after=${before.lastSeq}&limit=100`,
      { token: owner.token },
    );
    const pageOk = page.messages.every((m, i) => m.seq === before.lastSeq + 1 + i);
    const stored = after.lastSeq - before.lastSeq;
    // D1 (the inbox listing reads it) receives the messages through the room's outbox: how far behind?
    const d1Start = performance.now();
    let d1LastSeq = null;
    while (performance.now() - d1Start < 15_000) {
      const inbox = await api.call("GET", "/api/conversations?limit=50", { token: owner.token });
      d1LastSeq = inbox.conversations.find((c) => c.id === conversationId)?.lastSeq ?? null;
      if (d1LastSeq !== null && d1LastSeq >= after.lastSeq) break;
      await sleep(50);
    }
    const d1CaughtUp = d1LastSeq !== null && d1LastSeq >= after.lastSeq;
    const d1LagSeconds = d1CaughtUp ? (performance.now() - d1Start) / 1000 : null;

    await Promise.all(threads.map((t) => t.request({ cmd: "close", timeoutMs: 15_000 }, "closed", 20_000)));
    const totalClient = process.cpuUsage(client0);

    const firstSendAt = Math.min(...senderDone.map((s) => s.firstSendAt));
    const lastReceiptAt = Math.max(...parts.map((p) => p.lastReceiptAt));
    const seconds = (lastReceiptAt - firstSendAt) / 1000;
    const deliveriesExpected = acked * (cfg.sockets - 1);
    const deliveriesReceived = parts.reduce((n, p) => n + p.messages, 0);
    const sum = (f) => parts.reduce((n, p) => n + f(p), 0);
    const all = [];
    for (const p of parts) {
      for (const x of p.msg.lat) all.push(x);
      for (const x of p.ack.lat) all.push(x);
    }
    const lat = distribution(all);
    const deliveryLat = distribution(parts.flatMap((p) => Array.from(p.msg.lat)));
    const ackLat = distribution(parts.flatMap((p) => Array.from(p.ack.lat)));
    const senders = perSenderP99(parts.flatMap((p) => [p.msg, p.ack]));
    const worstSenderP99 = Math.max(...Object.values(senders));
    const integrity = {
      lost: sum((p) => p.lost),
      duplicated: sum((p) => p.dup) + sum((p) => p.dupAcks),
      outOfOrder: sum((p) => p.ooo),
      unexpected: sum((p) => p.unexpected),
      failedSends: planned - acked,
      errorFrames: sum((p) => p.errors),
      socketsClosedDuringRun: sum((p) => p.closedSockets),
      storedOnServer: stored,
      historyPageConsistent: pageOk,
      d1CaughtUp,
      timedOut: sendTimedOut || parts.some((p) => p.timedOut),
    };
    const ok =
      integrity.lost === 0 &&
      integrity.duplicated === 0 &&
      integrity.outOfOrder === 0 &&
      integrity.unexpected === 0 &&
      integrity.failedSends === 0 &&
      integrity.socketsClosedDuringRun === 0 &&
      stored === acked &&
      pageOk &&
      d1CaughtUp &&
      !integrity.timedOut &&
      deliveriesReceived === deliveriesExpected;
    const runCpu = cpu2 - cpu1;
    return {
      name,
      title: cfg.title,
      ok,
      sockets: cfg.sockets,
      users: Math.min(cfg.members, cfg.sockets),
      senders: cfg.senders,
      window: WINDOW ?? cfg.window,
      clientThreads: threadCount,
      messages: { planned, acked, failed: planned - acked },
      deliveries: { expected: deliveriesExpected, received: deliveriesReceived },
      integrity,
      throughput: {
        seconds,
        messagesPerSec: acked / seconds,
        deliveriesPerSec: deliveriesReceived / seconds,
        receiptsPerSec: (deliveriesReceived + sum((p) => p.acks)) / seconds,
      },
      latencyMs: { ...lat, worstSenderP99, perSenderP99: senders, deliveries: deliveryLat, acks: ackLat },
      d1: { caughtUp: d1CaughtUp, secondsAfterLastReceipt: d1LagSeconds },
      connect: {
        heapAfterConnect: profilers.length ? heapAfterConnect : undefined,
        seconds: connectSeconds,
        serverCpuSeconds: cpuConnect,
        presenceFrames,
        rssMiBBefore: rssBeforeConnect,
        rssMiBAfter: rssAfterConnect.rssMiB,
        rssKiBPerSocket: ((rssAfterConnect.rssMiB - rssBeforeConnect) * 1024) / cfg.sockets,
      },
      server: {
        rssPeakMiB: peakReset ? mem.peakMiB : null,
        rssPeakNote: peakReset
          ? "VmHWM summed over workerd processes, reset before connecting"
          : "could not reset VmHWM",
        rssEndMiB: mem.rssMiB,
        cpuSeconds: runCpu,
        cpuShare: seconds > 0 ? runCpu / seconds : null,
        cpuMicrosPerMessage: acked ? (runCpu * 1e6) / acked : null,
        cpuMicrosPerDelivery: deliveriesReceived ? (runCpu * 1e6) / deliveriesReceived : null,
        // Time the server's threads were runnable but not running (waiting for a core), per second.
        runQueueWaitShare: (wait2 - wait1) / ((wall2 - wall1) / 1000),
      },
      // With ?batch=1 the events committed together share one frame: frames/events shows how much.
      frames: {
        received: sum((p) => p.frames),
        arrays: sum((p) => p.batchFrames),
        batchParam: !opts["no-batch"],
      },
      client: {
        cpuShareDuringRun: seconds > 0 ? (client2.user + client2.system) / 1e6 / seconds : null,
        cpuSecondsTotal: (totalClient.user + totalClient.system) / 1e6,
      },
      // CPU the rest of the machine (other processes) used during the send phase, in cores: noise.
      otherCpuShare:
        machine1 === null
          ? null
          : Math.max(
              0,
              (machine2 - machine1 - runCpu - (client2.user + client2.system) / 1e6) /
                ((wall2 - wall1) / 1000),
            ),
      // Share of the send phase during which some task on the machine waited for the disk (PSI):
      // durable commits (fsync) wait longer when other processes keep the disk busy.
      ioStallShare: io1 === null || io2 === null ? null : (io2 - io1) / 1000 / (wall2 - wall1),
      errorSamples: parts.flatMap((p) => p.errorSamples).slice(0, 5),
      profiles: profileSummary.length ? profileSummary : undefined,
      wallSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await Promise.all(threads.map((t) => t.terminate().catch(() => {})));
  }
}

/**
 * One row from the repeats: each figure is the median over the runs (a noisy neighbour rarely spoils
 * every run the same way), the peak RSS is the highest, and the integrity counts are summed, so a
 * single lost message in any run shows.
 */
function aggregate(list) {
  const med = (f) => median(list.map(f).filter((v) => v !== null && v !== undefined));
  const sum = (f) => list.reduce((n, r) => n + f(r), 0);
  const first = structuredClone(list[0]);
  return {
    ...first,
    ok: list.every((r) => r.ok),
    repeats: list.length,
    messages: {
      planned: first.messages.planned,
      acked: med((r) => r.messages.acked),
      failed: sum((r) => r.messages.failed),
    },
    deliveries: { expected: med((r) => r.deliveries.expected), received: med((r) => r.deliveries.received) },
    integrity: {
      ...first.integrity,
      lost: sum((r) => r.integrity.lost),
      duplicated: sum((r) => r.integrity.duplicated),
      outOfOrder: sum((r) => r.integrity.outOfOrder),
      unexpected: sum((r) => r.integrity.unexpected),
      failedSends: sum((r) => r.integrity.failedSends),
      errorFrames: sum((r) => r.integrity.errorFrames),
      socketsClosedDuringRun: sum((r) => r.integrity.socketsClosedDuringRun),
      historyPageConsistent: list.every((r) => r.integrity.historyPageConsistent),
      d1CaughtUp: list.every((r) => r.integrity.d1CaughtUp),
      timedOut: list.some((r) => r.integrity.timedOut),
    },
    throughput: {
      seconds: med((r) => r.throughput.seconds),
      messagesPerSec: med((r) => r.throughput.messagesPerSec),
      deliveriesPerSec: med((r) => r.throughput.deliveriesPerSec),
      receiptsPerSec: med((r) => r.throughput.receiptsPerSec),
    },
    latencyMs: {
      ...first.latencyMs,
      p50: med((r) => r.latencyMs.p50),
      p90: med((r) => r.latencyMs.p90),
      p99: med((r) => r.latencyMs.p99),
      max: med((r) => r.latencyMs.max),
      worstSenderP99: med((r) => r.latencyMs.worstSenderP99),
    },
    connect: {
      ...first.connect,
      seconds: med((r) => r.connect.seconds),
      serverCpuSeconds: med((r) => r.connect.serverCpuSeconds),
      // The first run allocates; later runs reuse what the runtime kept: the highest is the cost.
      rssKiBPerSocket: Math.max(...list.map((r) => r.connect.rssKiBPerSocket)),
    },
    server: {
      ...first.server,
      rssPeakMiB: list.some((r) => r.server.rssPeakMiB === null)
        ? null
        : Math.max(...list.map((r) => r.server.rssPeakMiB)),
      cpuSeconds: med((r) => r.server.cpuSeconds),
      cpuShare: med((r) => r.server.cpuShare),
      cpuMicrosPerMessage: med((r) => r.server.cpuMicrosPerMessage),
      cpuMicrosPerDelivery: med((r) => r.server.cpuMicrosPerDelivery),
      runQueueWaitShare: med((r) => r.server.runQueueWaitShare),
    },
    client: {
      cpuShareDuringRun: med((r) => r.client.cpuShareDuringRun),
      cpuSecondsTotal: med((r) => r.client.cpuSecondsTotal),
    },
    otherCpuShare: med((r) => r.otherCpuShare),
    ioStallShare: med((r) => r.ioStallShare),
    errorSamples: list.flatMap((r) => r.errorSamples).slice(0, 5),
  };
}

// ---- main ----

async function main() {
  const started = new Date();
  log(`starting the server (${opts.server}); scenarios: ${only.join(", ")}; repeat ${REPEAT}`);
  const tStart = performance.now();
  const inspectorPort = opts["cpu-profile"] ? await freePort() : undefined;
  if (inspectorPort && opts.server !== "miniflare") throw new Error("--cpu-profile needs --server miniflare");
  server = await startServer({ mode: opts.server, vars: VARS, inspectorPort, minify: !inspectorPort, log });
  if (inspectorPort) profilers = await Profiler.attachAll(inspectorPort);
  const startSeconds = (performance.now() - tStart) / 1000;
  log(
    `server up at ${server.url} in ${startSeconds.toFixed(1)} s; workerd pids ${server
      .workerd()
      .map((p) => p.pid)
      .join(", ")}; RSS ${server.memory().rssMiB.toFixed(0)} MiB`,
  );
  const api = new Api(server.url);

  const needUsers = Math.max(...only.map((n) => SCENARIOS[n].members), 2);
  const t1 = performance.now();
  const users = await seedUsers(api, needUsers);
  log(
    `seeded ${users.length} users in ${((performance.now() - t1) / 1000).toFixed(1)} s; server RSS ${server.memory().rssMiB.toFixed(0)} MiB`,
  );

  const results = [];
  const runs = {};
  for (const name of only) {
    const cfg = SCENARIOS[name];
    if (cfg.sockets > 1 && cfg.members < 2) throw new Error(`${name}: needs at least 2 members`);
    const t2 = performance.now();
    const conversationId = await seedConversation(api, users, cfg, name);
    log(
      `${name}: conversation ${conversationId} with ${cfg.members} members in ${((performance.now() - t2) / 1000).toFixed(1)} s; server RSS ${server.memory().rssMiB.toFixed(0)} MiB`,
    );
    // A whole second of quiet: the previous room's alarms (inbox notices, D1 outbox) have drained.
    await server.settle({ windowMs: 1000, timeoutMs: 20_000 });
    runs[name] = [];
    for (let attempt = 1; attempt <= REPEAT; attempt++) {
      const r = await runScenario(name, cfg, { api, users, conversationId }, attempt);
      runs[name].push(r);
      log(
        `${name} #${attempt}: ${r.ok ? "OK" : "FAILED"} ${r.messages.acked} msgs, ${Math.round(r.throughput.messagesPerSec)} msgs/s, ` +
          `${Math.round(r.throughput.deliveriesPerSec)} deliveries/s, p99 ${r.latencyMs.p99?.toFixed(1)} ms, ` +
          `lost/dup/ooo ${r.integrity.lost}/${r.integrity.duplicated}/${r.integrity.outOfOrder}, ` +
          `CPU (cores): server ${r.server.cpuShare?.toFixed(2)}, load generator ${r.client.cpuShareDuringRun?.toFixed(2)}, other processes ${r.otherCpuShare?.toFixed(2)}; ` +
          `server waiting for a core ${Math.round((r.server.runQueueWaitShare ?? 0) * 100)}% of the time; ` +
          `some task stalled on disk I/O ${Math.round((r.ioStallShare ?? 0) * 100)}% of the time`,
      );
      if (!r.ok)
        log(`${name}: integrity ${JSON.stringify(r.integrity)} errors ${JSON.stringify(r.errorSamples)}`);
      await server.settle({ windowMs: 1000, timeoutMs: 20_000 });
    }
    results.push(aggregate(runs[name]));
  }

  console.log("");
  console.log(table(results));
  console.log(
    `\nserver: ${opts.server} (workerd on 127.0.0.1), ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
      `load generator: Node ${process.version} worker threads. deliveries = message events to sockets other than the ` +
      `sender's; latency = send → each receipt (deliveries and the sender's ack); lost/dup/ooo checked per socket by seq; ` +
      `${opts["no-batch"] ? "one frame per event (--no-batch)" : "sockets opened with ?batch=1 like the web client (events committed together share a frame)"}; ` +
      `server CPU = workerd processes' CPU during the send phase (100% = one core); other CPU = the rest of the machine ` +
      `(other processes: noise).` +
      (REPEAT > 1
        ? ` Each figure is the median of ${REPEAT} runs (RSS: the highest; lost/dup/ooo: summed over the runs).`
        : ""),
  );

  const report = {
    startedAt: started.toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    server: { mode: opts.server, startSeconds, vars: { ...VARS, JWT_SECRET: "(random)" } },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg(), node: process.version },
    settings: {
      batch: !opts["no-batch"],
      repeat: REPEAT,
      threads: THREADS,
      bodyChars: BODY_CHARS,
      connectConcurrency: CONNECT_CONCURRENCY,
      windowOverride: WINDOW,
    },
    scenarios: SCENARIOS,
    results,
    runs,
    git: (() => {
      try {
        return readFileSync(join(ROOT, ".git/HEAD"), "utf8").trim();
      } catch {
        return null;
      }
    })(),
  };
  const out = opts.out ?? join(RESULTS_DIR, `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nJSON: ${out}`);
  return results.every((r) => r.ok);
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
  if (exitCode !== 0) console.error("bench: integrity check failed in at least one scenario (see above)");
} catch (err) {
  console.error("bench failed:", err?.stack ?? err);
  if (server?.output) console.error(`--- server output (tail) ---\n${server.output().slice(-4000)}`);
  exitCode = 1;
} finally {
  for (const p of profilers) p.close();
  if (server) await server.stop();
  clearTimeout(watchdog);
}
process.exit(exitCode);
