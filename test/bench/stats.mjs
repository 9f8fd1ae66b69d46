// Percentiles, the per-scenario summary, and the printed table.

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export function distribution(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

/** p99 per sender index, over every receipt (deliveries and the ack) of that sender's messages. */
export function perSenderP99(parts) {
  const bySender = new Map();
  for (const { lat, who } of parts) {
    for (let i = 0; i < lat.length; i++) {
      let arr = bySender.get(who[i]);
      if (!arr) bySender.set(who[i], (arr = []));
      arr.push(lat[i]);
    }
  }
  const out = {};
  for (const [sender, arr] of [...bySender].sort((a, b) => a[0] - b[0])) out[sender] = distribution(arr).p99;
  return out;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

const fmtInt = (n) => (n === null || n === undefined ? "-" : Math.round(n).toLocaleString("en-US"));
const fmtK = (n) =>
  n === null || n === undefined ? "-" : n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : fmtInt(n);
const fmtMs = (n) => (n === null || n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fmtS = (n) => (n === null || n === undefined ? "-" : n.toFixed(2));

/** One line per scenario, as a Markdown table (readable in a terminal and pasteable into the README). */
export function table(results) {
  const head = [
    "scenario",
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
    "server RSS peak MiB",
    "server CPU",
    "other CPU",
  ];
  const rows = results.map((r) => [
    r.name,
    fmtInt(r.sockets),
    `${fmtInt(r.messages.acked)}/${fmtInt(r.messages.planned)}`,
    `${fmtInt(r.deliveries.expected)}/${fmtInt(r.deliveries.received)}`,
    `${r.integrity.lost}/${r.integrity.duplicated}/${r.integrity.outOfOrder}`,
    fmtK(r.throughput.messagesPerSec),
    fmtK(r.throughput.deliveriesPerSec),
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p90),
    fmtMs(r.latencyMs.p99),
    fmtMs(r.latencyMs.max),
    fmtMs(r.latencyMs.worstSenderP99),
    fmtS(r.connect.seconds),
    r.server.rssPeakMiB === null ? "-" : r.server.rssPeakMiB.toFixed(0),
    r.server.cpuShare === null ? "-" : `${Math.round(r.server.cpuShare * 100)}%`,
    r.otherCpuShare === null || r.otherCpuShare === undefined ? "-" : `${Math.round(r.otherCpuShare * 100)}%`,
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
