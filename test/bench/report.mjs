// The printed report (Markdown tables: readable in a terminal, pasteable into the README) and the
// JSON file under test/bench/results/.
//
//   1. every scenario × target: throughput, latency, integrity, connect time, server memory and CPU
//   2. the product against the floor of the same run (the ratio is what the README states)
//   3. issue 12's target table with the measured ratios
//   4. server-side writes per message (issue 11; "n/a" until the product writes METRICS points)
//   5. what the web clients did in the web scenarios

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ROOT } from "./proc.mjs";
import { fractionLabel } from "./scenarios.mjs";

const dash = (n) => n === null || n === undefined || Number.isNaN(n);
const fmtInt = (n) => (dash(n) ? "-" : Math.round(n).toLocaleString("en-US"));
const fmtK = (n) => (dash(n) ? "-" : n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : fmtInt(n));
const fmtMs = (n) => (dash(n) ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtS = (n) => (dash(n) ? "-" : n.toFixed(2));
const fmtPct = (n) => (dash(n) ? "-" : `${Math.round(n * 100)}%`);
const fmtPerMsg = (n) => (dash(n) ? "n/a" : n.toFixed(n >= 10 ? 1 : 2));
export const fmtRatio = (n) => (dash(n) ? "-" : n >= 0.1 ? `${n.toFixed(2)}×` : `${n.toPrecision(1)}×`);

export function markdown(head, rows) {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export const status = (r) => (r.error ? "error" : !r.ok ? "FAILED" : r.dnf ? "did not finish" : "ok");

/** 1. One line per scenario and target. */
export function resultsTable(rows) {
  const head = [
    "scenario",
    "server",
    "status",
    "sockets",
    "msgs acked",
    "deliveries exp/recv",
    "lost/dup/ooo",
    "msgs/s",
    "deliv/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "worst sender p99",
    "connect s",
    "RSS peak MiB",
    "server CPU",
    "other CPU",
  ];
  const body = rows.map((r) =>
    r.error
      ? [r.name, r.target, "error", ...head.slice(3).map(() => "-")]
      : [
          r.name,
          r.target,
          status(r),
          fmtInt(r.sockets),
          `${fmtInt(r.messages.acked)}/${fmtInt(r.messages.planned)}`,
          `${fmtInt(r.deliveries.expected)}/${fmtInt(r.deliveries.received)}`,
          `${r.integrity.lost ?? "-"}/${r.integrity.duplicated}/${r.integrity.outOfOrder}`,
          fmtK(r.throughput.messagesPerSec),
          fmtK(r.throughput.deliveriesPerSec),
          fmtMs(r.latencyMs.p50),
          fmtMs(r.latencyMs.p90),
          fmtMs(r.latencyMs.p99),
          fmtMs(r.latencyMs.max),
          fmtMs(r.latencyMs.worstSenderP99),
          fmtS(r.connect.seconds),
          dash(r.server.rssPeakMiB) ? "-" : r.server.rssPeakMiB.toFixed(0),
          fmtPct(r.server.cpuShare),
          fmtPct(r.otherCpuShare),
        ],
  );
  return markdown(head, body);
}

/** 2. Product against floor, scenario by scenario. */
export function ratioTable(pairs) {
  const head = [
    "scenario",
    "figure",
    "floor",
    "product",
    "product/floor",
    "p99 ms floor",
    "p99 ms product",
    "connect s floor",
    "connect s product",
  ];
  const body = pairs.map(({ name, product, floor, vs }) => [
    name,
    vs?.figure === "messagesPerSec" ? "msgs/s" : "deliv/s",
    floor ? fmtK(vs?.floor) + (floor.dnf ? " (dnf)" : "") : "-",
    product ? fmtK(vs?.product) + (product.dnf ? " (dnf)" : "") : "-",
    fmtRatio(vs?.ratio),
    fmtMs(floor?.latencyMs?.p99),
    fmtMs(product?.latencyMs?.p99),
    fmtS(floor?.connect?.seconds),
    fmtS(product?.connect?.seconds),
  ]);
  return markdown(head, body);
}

/** 3. Issue 12's targets; "today" is what the issue measured before the work. */
export function targetTable(pairs, settings) {
  const by = Object.fromEntries(pairs.map((p) => [p.name, p]));
  const readers = fractionLabel(settings.readers);
  const rows = [
    ["small", "small room, 10 clients × 10 senders", "0.33×", "≥ 0.6×", (v) => v.ratio >= 0.6],
    ["big", "big room, 500 clients, 5 senders", "1.2×", "≥ 1.0× (keep)", (v) => v.ratio >= 1.0],
    [
      "small-readers",
      `small room, ${readers} clients sends a \`read\` per message`,
      "0.12×",
      "≥ 0.5×",
      (v) => v.ratio >= 0.5,
    ],
    [
      "big-readers",
      `big room, ${readers} clients sends a \`read\` per message`,
      "< 0.01×, does not finish",
      "≥ 0.8×, p99 ≤ 300 ms",
      (v, p) => v.ratio >= 0.8 && p.latencyMs.p99 <= 300,
    ],
    [
      "echo",
      "echo, one sender, 100 in flight, durable ack",
      "≈ 0.1× of `ws` echo",
      "≥ 0.2×",
      (v) => v.ratio >= 0.2,
    ],
    [
      "many",
      "2,000 clients join one room",
      "2.3 s",
      "≤ 2 s, p99 delivery ≤ 300 ms",
      (_v, p) => p.connect.seconds <= 2 && p.latencyMs.deliveries.p99 <= 300,
    ],
  ];
  const body = rows
    .filter(([name]) => by[name])
    .map(([name, label, today, target, met]) => {
      const { product, vs } = by[name];
      if (!product || product.error || !vs)
        return [label, today, target, product?.error ? "error" : "-", "-"];
      const parts = [name === "many" ? `join ${fmtS(product.connect.seconds)} s` : fmtRatio(vs.ratio)];
      if (name === "many")
        parts.push(
          `p99 delivery ${fmtMs(product.latencyMs.deliveries.p99)} ms`,
          `${fmtRatio(vs.ratio)} deliv/s`,
        );
      if (name === "big-readers") parts.push(`p99 ${fmtMs(product.latencyMs.p99)} ms`);
      if (product.dnf) parts.push("did not finish");
      const verdict = !product.ok ? "integrity FAILED" : product.dnf ? "no" : met(vs, product) ? "met" : "no";
      return [label, today, target, parts.join(", "), verdict];
    });
  const batch = settings.batch ? "`?batch=1` sockets" : "sockets without `?batch=1`";
  return markdown([`scenario (${batch})`, "today (issue 12)", "target", "measured", "met"], body);
}

/** 4. What the product wrote per message, from its METRICS data points. */
export function writesTable(rows) {
  const head = ["scenario", "D1 batches/msg", "D1 statements/msg", "D1 rows/msg", "storage rows/msg"];
  const body = rows
    .filter((r) => !r.error)
    .map((r) => {
      const w = r.serverWrites ?? {};
      return [
        r.name,
        fmtPerMsg(w.d1BatchesPerMsg),
        fmtPerMsg(w.d1StatementsPerMsg),
        fmtPerMsg(w.d1RowsPerMsg),
        fmtPerMsg(w.storageRowsPerMsg),
      ];
    });
  return markdown(head, body);
}

/** 5. The web clients' side traffic: per run, what they sent and what came back to them. */
export function activityTable(rows) {
  const head = [
    "scenario",
    "server",
    "reads sent",
    "read events recv",
    "typing sent",
    "typing recv",
    "tab reopens",
    "tabs away at end",
    "replayed",
  ];
  const body = rows
    .filter((r) => !r.error && r.web)
    .map((r) => [
      r.name,
      r.target,
      fmtInt(r.activity.readsSent),
      fmtInt(r.activity.readsReceived),
      fmtInt(r.activity.typingSent),
      fmtInt(r.activity.typingReceived),
      fmtInt(r.activity.reconnects),
      fmtInt(r.activity.tabsAwayAtEnd),
      fmtInt(r.activity.replayedDeliveries),
    ]);
  return body.length ? markdown(head, body) : null;
}

export function footnote(settings) {
  return (
    `server: ${settings.server} (workerd on 127.0.0.1); floor: bare \`ws\` broadcast server (Node ${process.version}, ` +
    `one process, ${settings.floorBatch === "on" ? "?batch=1 honoured: one array per event-loop turn" : "one frame per event"}, ` +
    `typing relayed naively, read receipts not relayed, ` +
    `permessage-deflate ${settings.floorDeflate ? "on" : "off"}); ` +
    `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load generator: Node worker threads. ` +
    `deliveries = message events to sockets other than the sender's; latency = send → each receipt (deliveries and ` +
    `the sender's ack); lost/dup/ooo checked per socket by seq; ` +
    `${settings.batch ? "sockets opened with ?batch=1 like the web client (events produced together share a frame)" : "one frame per event (--no-batch)"}; ` +
    (settings.only.some((n) => settings.scenarios[n].web)
      ? `web scenarios (*-readers): ${fractionLabel(settings.readers)} sockets send a read per message, ` +
        `${fractionLabel(settings.typers)} type, ${settings.churnPerSec} tab(s)/s close and reopen with ?since=; `
      : "") +
    `"did not finish" = the send phase was still going after ${settings.giveUpMs / 1000} s (rates are over that time). ` +
    `server CPU = the serving processes' CPU during the send phase (100% = one core); other CPU = the rest of the ` +
    `machine (other processes: noise).` +
    (settings.repeat > 1
      ? ` Each figure is the median of ${settings.repeat} runs (RSS: the highest; lost/dup/ooo: summed over the runs).`
      : "")
  );
}

export function writeJson({ settings, started, startSeconds, pairs, runs, search = null }) {
  const report = {
    startedAt: started.toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    server: { mode: settings.server, startSeconds, vars: { ...settings.vars, JWT_SECRET: "(random)" } },
    floor: { batch: settings.floorBatch, deflate: settings.floorDeflate },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtEnd: loadavg(), node: process.version },
    settings: {
      batch: settings.batch,
      repeat: settings.repeat,
      threads: settings.threads,
      bodyChars: settings.bodyChars,
      connectConcurrency: settings.connectConcurrency,
      windowOverride: settings.window,
      readers: settings.readers,
      typers: settings.typers,
      churnPerSec: settings.churnPerSec,
      giveUpSeconds: settings.giveUpMs / 1000,
      targets: settings.targets,
    },
    scenarios: Object.fromEntries(settings.only.map((n) => [n, settings.scenarios[n]])),
    // The product's rows (as before the floor existed), each with its ratio to the floor.
    results: pairs.filter((p) => p.product).map((p) => ({ ...p.product, vsFloor: p.vs })),
    floorResults: pairs.filter((p) => p.floor).map((p) => p.floor),
    runs,
    // The search scenario (search.mjs), when it ran.
    search,
    git: (() => {
      const r = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", timeout: 10_000 });
      return r.status === 0 ? r.stdout.trim() : null;
    })(),
  };
  const out =
    settings.out ??
    join(ROOT, "test/bench/results", `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  return out;
}
