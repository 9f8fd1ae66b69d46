// `npm run bench`: fan-out speed, latency and connection cost of the chat Worker on local workerd,
// each scenario measured against a bare `ws` broadcast server (the floor) in the same invocation.
//
// Starts the floor (floor.mjs) and the product (server.mjs), seeds the product's users and
// conversations through its public REST API (seeding.mjs), and runs every scenario
// (scenarios.mjs) against both with the same load generator in worker threads (scenario.mjs,
// client-*.mjs): authenticated WebSockets opened as a browser does, every receipt checked per
// socket by seq (lost, duplicated, out of order must all be 0). Prints the tables and writes JSON
// under test/bench/results/ (report.mjs). Only 127.0.0.1 is contacted; every wait has a timeout,
// a send phase still going after --give-up is reported "did not finish", and both servers are
// stopped at the end, on failure too.
//
//   npm run bench                                          every scenario, floor and product
//   npm run bench -- --only small,echo --repeat 3          medians of 3 runs
//   npm run bench -- --only big-readers --targets product  the product alone
//   npm run bench -- --only search                         search latency over 100,000 messages
//   npm run bench -- --help

import { HELP, UsageError, parseCli } from "./cli.mjs";
import { startFloor } from "./floor.mjs";
import { ServerMetrics, writesPerMessage } from "./metrics.mjs";
import { freePort } from "./proc.mjs";
import { Profiler } from "./profile.mjs";
import {
  activityTable,
  footnote,
  ratioTable,
  resultsTable,
  status,
  targetTable,
  writeJson,
  writesTable,
} from "./report.mjs";
import { aggregate, failedRun, versusFloor } from "./results.mjs";
import { runScenario } from "./scenario.mjs";
import { Api, seedUsers } from "./seeding.mjs";
import { runSearchScenario, searchTable } from "./search.mjs";
import { startServer } from "./server.mjs";
import { FloorTarget, ProductTarget } from "./targets.mjs";

if (Number(process.versions.node.split(".")[0]) < 22 || typeof WebSocket !== "function") {
  console.error(
    `bench: needs Node 22+ with a global WebSocket (this is ${process.version}); run it with \`npm run bench\`, which uses the project's pinned Node 24`,
  );
  process.exit(2);
}

let settings;
try {
  settings = parseCli();
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (settings.help) {
  console.log(HELP);
  process.exit(0);
}
const log = settings.quiet
  ? () => {}
  : (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- the servers, stopped whatever happens ----

const servers = [];
let profilers = [];
let exiting = false;
const emergencyStop = () => servers.forEach((s) => s.killNow());
process.on("exit", emergencyStop);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${sig}: stopping the servers`);
    emergencyStop();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench: the whole run exceeded ${settings.runTimeoutMs / 1000} s; stopping`);
  emergencyStop();
  process.exit(3);
}, settings.runTimeoutMs);
watchdog.unref();

async function startTargets() {
  const { scenarios, only, targets } = settings;
  const needUsers = Math.max(...only.map((n) => scenarios[n].members), 2);
  const out = {};
  // The floor has no search: it starts only for socket scenarios.
  if (targets.includes("floor") && only.some((n) => !scenarios[n].search)) {
    const floor = await startFloor({ batch: settings.floorBatch, deflate: settings.floorDeflate });
    servers.push(floor);
    log(
      `floor up at ${floor.url} (pid ${floor.child.pid}, ?batch=1 ${settings.floorBatch}, ` +
        `permessage-deflate ${settings.floorDeflate ? "on" : "off"})`,
    );
    out.floor = FloorTarget.withUsers(floor, needUsers);
  }
  if (targets.includes("product")) {
    log(`starting the product (${settings.server})`);
    const t0 = performance.now();
    const inspectorPort = settings.cpuProfile ? await freePort() : undefined;
    const server = await startServer({
      mode: settings.server,
      vars: settings.vars,
      inspectorPort,
      controlPort: only.includes("search") ? await freePort() : undefined,
      minify: !inspectorPort,
      log,
    });
    servers.push(server);
    if (inspectorPort) profilers = await Profiler.attachAll(inspectorPort);
    out.startSeconds = (performance.now() - t0) / 1000;
    const pids = server.processes().map((p) => p.pid);
    log(
      `product up at ${server.url} in ${out.startSeconds.toFixed(1)} s; workerd pids ${pids.join(", ")}; ` +
        `RSS ${server.memory().rssMiB.toFixed(0)} MiB`,
    );
    const api = new Api(server.url);
    const t1 = performance.now();
    const users = await seedUsers(api, needUsers);
    log(`seeded ${users.length} users in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    const metrics = settings.server === "miniflare" ? new ServerMetrics(server.entryUrl) : null;
    out.product = new ProductTarget({ server, api, users, metrics, profilers });
  }
  return out;
}

/** One run against one target, with the product's server-side writes of that run. */
async function runOnce(target, name, cfg, room, attempt) {
  const before = target.metrics ? await target.metrics.snapshot() : null;
  let r;
  try {
    r = await runScenario({ name, cfg, target, room, settings, attempt, log });
  } catch (err) {
    log(`${name} [${target.kind}] #${attempt}: ${err?.stack ?? err}`);
    r = failedRun(name, cfg, target.kind, err);
  }
  // A whole second of quiet: the room's alarms (inbox notices, D1 outbox) of this run are done; after
  // a run that did not finish the server may have a long backlog to work through first.
  const drained = await target.server.settle({ windowMs: 1000, timeoutMs: r.dnf ? 90_000 : 20_000 });
  if (!drained) log(`${name} [${target.kind}]: the server was still busy when the next run started`);
  if (target.metrics && !r.error) {
    r.serverWrites = writesPerMessage(before, await target.metrics.snapshot(), r.messages.acked);
  }
  if (r.error) return r;
  log(
    `${name} [${target.kind}] #${attempt}: ${status(r)} ${r.messages.acked} msgs, ${Math.round(r.throughput.messagesPerSec)} msgs/s, ` +
      `${Math.round(r.throughput.deliveriesPerSec)} deliveries/s, p99 ${r.latencyMs.p99?.toFixed(1)} ms, ` +
      `lost/dup/ooo ${r.integrity.lost ?? "-"}/${r.integrity.duplicated}/${r.integrity.outOfOrder}, ` +
      `CPU (cores): server ${r.server.cpuShare?.toFixed(2)}, load generator ${r.client.cpuShareDuringRun?.toFixed(2)}, ` +
      `other processes ${r.otherCpuShare?.toFixed(2)}; server waiting for a core ` +
      `${Math.round((r.server.runQueueWaitShare ?? 0) * 100)}% of the time; ` +
      `some task stalled on disk I/O ${Math.round((r.ioStallShare ?? 0) * 100)}% of the time`,
  );
  if (r.dnf) {
    log(
      `${name} [${target.kind}]: did not finish in ${r.giveUp.afterSeconds.toFixed(0)} s: ` +
        `${r.deliveries.received}/${r.deliveries.expected} deliveries of the acked messages, ` +
        `${r.messages.acked}/${r.messages.planned} messages acked, last receipt ` +
        `${r.giveUp.lastReceiptBeforeGiveUpSeconds?.toFixed(1)} s before giving up`,
    );
  }
  if (!r.ok)
    log(`${name}: integrity ${JSON.stringify(r.integrity)} errors ${JSON.stringify(r.errorSamples)}`);
  return r;
}

async function main() {
  const started = new Date();
  const { scenarios, only } = settings;
  log(`scenarios: ${only.join(", ")}; targets: ${settings.targets.join(", ")}; repeat ${settings.repeat}`);
  const targets = await startTargets();
  const order = ["floor", "product"].filter((k) => targets[k]);

  const pairs = [];
  const runs = {};
  let search = null;
  for (const name of only) {
    const cfg = scenarios[name];
    if (cfg.search) {
      if (targets.product) search = await runSearchScenario({ target: targets.product, settings, log });
      continue;
    }
    if (cfg.sockets > 1 && cfg.members < 2) throw new Error(`${name}: needs at least 2 members`);
    const rooms = {};
    for (const kind of order) {
      const t = performance.now();
      rooms[kind] = await targets[kind].prepare(name, cfg);
      log(
        `${name} [${kind}]: room ${rooms[kind].id} (${cfg.members} members) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
      await targets[kind].server.settle({ windowMs: 1000, timeoutMs: 20_000 });
    }
    runs[name] = Object.fromEntries(order.map((k) => [k, []]));
    // Interleaved, floor first: a slow spell of the machine spoils one run of each, not one side.
    for (let attempt = 1; attempt <= settings.repeat; attempt++) {
      for (const kind of order) {
        const previous = runs[name][kind];
        // Did not finish once: it will not finish again; the rest of the run is worth more.
        if (previous.some((r) => r.dnf)) continue;
        previous.push(await runOnce(targets[kind], name, cfg, rooms[kind], attempt));
      }
    }
    const product = runs[name].product ? aggregate(runs[name].product) : null;
    const floor = runs[name].floor ? aggregate(runs[name].floor) : null;
    pairs.push({ name, cfg, product, floor, vs: versusFloor(cfg, product, floor) });
  }

  const rows = pairs.flatMap((p) => [p.floor, p.product]).filter(Boolean);
  console.log("");
  if (rows.length > 0) console.log(resultsTable(rows));
  if (search) console.log(`\nGET /api/search, one request at a time (product):\n\n${searchTable(search)}`);
  if (targets.floor && targets.product && pairs.length > 0) {
    console.log(`\nThe product against the floor (same run; deliveries/s, for the echo messages/s):\n`);
    console.log(ratioTable(pairs));
    console.log(`\nIssue 12's targets:\n`);
    console.log(targetTable(pairs, settings));
  }
  if (targets.product && pairs.length > 0) {
    const note = targets.product.metrics ? "" : " (no METRICS sink with this --server)";
    console.log(`\nServer-side writes per acked message (product, from its METRICS data points${note}):\n`);
    console.log(writesTable(pairs.map((p) => p.product).filter(Boolean)));
  }
  const activity = activityTable(rows);
  if (activity) console.log(`\nWhat the web clients did (web scenarios):\n\n${activity}`);
  if (pairs.length > 0) console.log(`\n${footnote(settings)}`);
  const out = writeJson({
    settings,
    started,
    startSeconds: targets.startSeconds ?? null,
    pairs,
    runs,
    search,
  });
  console.log(`\nJSON: ${out}`);
  const dnf = rows.filter((r) => r.dnf).map((r) => `${r.name} [${r.target}]`);
  if (dnf.length) console.log(`did not finish within ${settings.giveUpMs / 1000} s: ${dnf.join(", ")}`);
  return rows.every((r) => r.ok);
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 0 : 1;
  if (exitCode !== 0) console.error("bench: integrity check failed in at least one scenario (see above)");
} catch (err) {
  console.error("bench failed:", err?.stack ?? err);
  for (const s of servers)
    if (s.output) console.error(`--- server output (tail) ---\n${s.output().slice(-4000)}`);
  exitCode = 1;
} finally {
  for (const p of profilers) p.close();
  for (const s of servers) await s.stop();
  clearTimeout(watchdog);
}
process.exit(exitCode);
