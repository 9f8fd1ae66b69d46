// From the load generator's receipts to figures: one run's summary and integrity verdict, the median
// row over repeats, and the product/floor ratios.
//
// Integrity (every run, both targets): every socket receives every acked message exactly once and in
// seq order (lost, duplicated, out of order), every send is acked once, no socket closes unasked, a
// tab that comes back catches up without gaps, and the server's record agrees (the acked messages
// are stored, numbered without gaps; for the product also the history page and the D1 copy). A run
// that did not finish by --give-up is "did not finish": its missing deliveries are not counted as
// lost (they were still coming), everything else is still checked.

import { distribution, median, perSenderP99 } from "./stats.mjs";

export function summarize({
  name,
  cfg,
  target,
  settings,
  parts,
  planned,
  timedOut,
  account,
  threadCount,
  profiles,
  connect,
  measured,
}) {
  const sum = (f) => parts.reduce((n, p) => n + f(p), 0);
  const senders = parts.flatMap((p) => p.senders);
  const acked = senders.reduce((n, s) => n + s.acked, 0);
  const sendStarts = senders.map((s) => s.firstSendAt).filter((t) => t > 0);
  const firstSendAt = sendStarts.length ? Math.min(...sendStarts) : 0;
  const lastReceiptAt = Math.max(...parts.map((p) => p.lastReceiptAt));
  const gaveUpSeconds = timedOut ? Math.max(...parts.map((p) => p.secondsToGiveUp ?? 0)) : null;
  // A run that gave up is measured over the whole phase: what got through in that time.
  const seconds = timedOut ? gaveUpSeconds : Math.max(1e-3, (lastReceiptAt - firstSendAt) / 1000);
  const deliveriesExpected = acked * (cfg.sockets - 1);
  const deliveriesReceived = sum((p) => p.messages);
  const all = [];
  for (const p of parts) {
    for (const x of p.msg.lat) all.push(x);
    for (const x of p.ack.lat) all.push(x);
  }
  const lat = distribution(all);
  const deliveryLat = distribution(parts.flatMap((p) => Array.from(p.msg.lat)));
  const ackLat = distribution(parts.flatMap((p) => Array.from(p.ack.lat)));
  const perSender = perSenderP99(parts.flatMap((p) => [p.msg, p.ack]));
  const senderP99s = Object.values(perSender).filter((v) => v !== null);
  const integrity = {
    lost: timedOut ? null : sum((p) => p.lost),
    missingAtGiveUp: timedOut ? sum((p) => p.lost) : 0,
    duplicated: sum((p) => p.dup) + sum((p) => p.dupAcks),
    outOfOrder: sum((p) => p.ooo),
    unexpected: sum((p) => p.unexpected),
    failedSends: senders.reduce((n, s) => n + s.failed, 0) + (timedOut ? 0 : planned - acked),
    errorFrames: sum((p) => p.errors),
    socketsClosedDuringRun: sum((p) => p.closedSockets),
    reconnectFailures: sum((p) => p.churnFailures),
    storedOnServer: account.stored,
    historyPageConsistent: account.historyPageConsistent,
    d1CaughtUp: account.d1CaughtUp,
    timedOut,
  };
  const ok =
    integrity.duplicated === 0 &&
    integrity.outOfOrder === 0 &&
    integrity.unexpected === 0 &&
    integrity.failedSends === 0 &&
    integrity.socketsClosedDuringRun === 0 &&
    integrity.reconnectFailures === 0 &&
    integrity.historyPageConsistent !== false &&
    (timedOut
      ? account.stored === null || account.stored >= acked
      : integrity.lost === 0 &&
        account.stored === acked &&
        integrity.d1CaughtUp !== false &&
        deliveriesReceived === deliveriesExpected);
  const m = measured;
  const wall = m.wallSeconds;
  return {
    name,
    title: cfg.title,
    target: target.kind,
    ok,
    dnf: timedOut,
    sockets: cfg.sockets,
    users: Math.min(cfg.members, cfg.sockets),
    senders: cfg.senders,
    window: settings.window ?? cfg.window,
    clientThreads: threadCount,
    web: cfg.web
      ? { readers: settings.readers, typers: settings.typers, churnPerSec: settings.churnPerSec }
      : null,
    messages: { planned, acked, failed: integrity.failedSends },
    deliveries: { expected: deliveriesExpected, received: deliveriesReceived },
    integrity,
    throughput: {
      seconds,
      messagesPerSec: acked / seconds,
      deliveriesPerSec: deliveriesReceived / seconds,
      receiptsPerSec: (deliveriesReceived + sum((p) => p.acks)) / seconds,
    },
    latencyMs: {
      ...lat,
      worstSenderP99: senderP99s.length ? Math.max(...senderP99s) : null,
      perSenderP99: perSender,
      deliveries: deliveryLat,
      acks: ackLat,
    },
    // Did not finish: how long the last receipt came before the give-up (long: stalled, not slow).
    giveUp: timedOut
      ? {
          afterSeconds: gaveUpSeconds,
          lastReceiptBeforeGiveUpSeconds: lastReceiptAt
            ? gaveUpSeconds - (lastReceiptAt - firstSendAt) / 1000
            : null,
        }
      : null,
    d1: { caughtUp: account.d1CaughtUp, secondsAfterLastReceipt: account.d1LagSeconds },
    connect,
    // What the web clients did and got (zero in the other scenarios).
    activity: {
      readsSent: sum((p) => p.readsSent),
      readsReceived: sum((p) => p.readsReceived),
      typingSent: sum((p) => p.typingSent),
      typingReceived: sum((p) => p.typingReceived),
      reconnects: sum((p) => p.reconnects),
      tabsAwayAtEnd: sum((p) => p.tabsAwayAtEnd),
      replayedDeliveries: sum((p) => p.replayed),
      presenceEvents: sum((p) => p.presence),
    },
    server: {
      rssPeakMiB: m.peakReset ? m.mem.peakMiB : null,
      rssPeakNote: m.peakReset
        ? "VmHWM summed over the serving processes, reset before connecting"
        : "could not reset VmHWM",
      rssEndMiB: m.mem.rssMiB,
      cpuSeconds: m.serverCpu,
      cpuShare: seconds > 0 ? m.serverCpu / wall : null,
      cpuMicrosPerMessage: acked ? (m.serverCpu * 1e6) / acked : null,
      cpuMicrosPerDelivery: deliveriesReceived ? (m.serverCpu * 1e6) / deliveriesReceived : null,
      // Time the server's threads were runnable but not running (waiting for a core), per second.
      runQueueWaitShare: m.runQueueWait / wall,
    },
    // With ?batch=1 the events produced together share one frame: frames/events shows how much.
    frames: { received: sum((p) => p.frames), arrays: sum((p) => p.batchFrames), batchParam: settings.batch },
    client: { cpuShareDuringRun: m.clientCpu / wall, cpuSecondsTotal: m.clientCpuTotal },
    // CPU the rest of the machine (other processes) used during the send phase, in cores: noise.
    otherCpuShare:
      m.machineBusy === null ? null : Math.max(0, (m.machineBusy - m.serverCpu - m.clientCpu) / wall),
    // Share of the send phase during which some task on the machine waited for the disk (PSI):
    // durable commits (fsync) wait longer when other processes keep the disk busy.
    ioStallShare: m.ioStallMicros === null ? null : m.ioStallMicros / 1e6 / wall,
    errorSamples: [
      ...parts.flatMap((p) => p.errorSamples),
      ...parts.flatMap((p) => p.closeSamples),
      ...parts.flatMap((p) => p.reconnectErrors),
    ].slice(0, 5),
    profiles: profiles.length ? profiles : undefined,
    wallSeconds: m.totalSeconds,
  };
}

/** A run that threw (connect failed, server gone): kept in the report as such. */
export function failedRun(name, cfg, kind, err) {
  return { name, title: cfg.title, target: kind, ok: false, dnf: false, error: String(err?.message ?? err) };
}

/** false if any run says false, null if none could tell (the floor, a run given up), else true. */
function allOf(list, f) {
  const known = list.map(f).filter((v) => v !== null && v !== undefined);
  return known.length === 0 ? null : known.every(Boolean);
}

/**
 * One row from the repeats: each figure is the median over the runs (a noisy neighbour rarely spoils
 * every run the same way), the peak RSS is the highest, and the integrity counts are summed, so a
 * single lost message in any run shows. Did not finish if any run did not.
 */
export function aggregate(list) {
  const done = list.filter((r) => !r.error);
  if (done.length === 0) return { ...list[0], repeats: list.length };
  const med = (f) => median(done.map(f).filter((v) => v !== null && v !== undefined));
  const total = (f) => (done.some((r) => f(r) === null) ? null : done.reduce((n, r) => n + f(r), 0));
  const first = structuredClone(done[0]);
  const medianOf = (obj, pick) =>
    Object.fromEntries(Object.keys(obj).map((k) => [k, med((r) => pick(r)[k])]));
  return {
    ...first,
    ok: list.every((r) => r.ok),
    dnf: done.some((r) => r.dnf),
    error: list.find((r) => r.error)?.error,
    repeats: list.length,
    messages: {
      planned: first.messages.planned,
      acked: med((r) => r.messages.acked),
      failed: total((r) => r.messages.failed),
    },
    deliveries: { expected: med((r) => r.deliveries.expected), received: med((r) => r.deliveries.received) },
    integrity: {
      ...first.integrity,
      lost: total((r) => r.integrity.lost),
      missingAtGiveUp: total((r) => r.integrity.missingAtGiveUp),
      duplicated: total((r) => r.integrity.duplicated),
      outOfOrder: total((r) => r.integrity.outOfOrder),
      unexpected: total((r) => r.integrity.unexpected),
      failedSends: total((r) => r.integrity.failedSends),
      errorFrames: total((r) => r.integrity.errorFrames),
      socketsClosedDuringRun: total((r) => r.integrity.socketsClosedDuringRun),
      reconnectFailures: total((r) => r.integrity.reconnectFailures),
      historyPageConsistent: allOf(done, (r) => r.integrity.historyPageConsistent),
      d1CaughtUp: allOf(done, (r) => r.integrity.d1CaughtUp),
      timedOut: done.some((r) => r.integrity.timedOut),
    },
    throughput: medianOf(first.throughput, (r) => r.throughput),
    latencyMs: {
      ...first.latencyMs,
      p50: med((r) => r.latencyMs.p50),
      p90: med((r) => r.latencyMs.p90),
      p99: med((r) => r.latencyMs.p99),
      max: med((r) => r.latencyMs.max),
      worstSenderP99: med((r) => r.latencyMs.worstSenderP99),
      deliveries: { ...first.latencyMs.deliveries, p99: med((r) => r.latencyMs.deliveries.p99) },
    },
    connect: {
      ...first.connect,
      seconds: med((r) => r.connect.seconds),
      serverCpuSeconds: med((r) => r.connect.serverCpuSeconds),
      // The first run allocates; later runs reuse what the runtime kept: the highest is the cost.
      rssKiBPerSocket: Math.max(...done.map((r) => r.connect.rssKiBPerSocket)),
    },
    activity: medianOf(first.activity, (r) => r.activity),
    server: {
      ...first.server,
      rssPeakMiB: done.some((r) => r.server.rssPeakMiB === null)
        ? null
        : Math.max(...done.map((r) => r.server.rssPeakMiB)),
      cpuSeconds: med((r) => r.server.cpuSeconds),
      cpuShare: med((r) => r.server.cpuShare),
      cpuMicrosPerMessage: med((r) => r.server.cpuMicrosPerMessage),
      cpuMicrosPerDelivery: med((r) => r.server.cpuMicrosPerDelivery),
      runQueueWaitShare: med((r) => r.server.runQueueWaitShare),
    },
    serverWrites: first.serverWrites ? medianOf(first.serverWrites, (r) => r.serverWrites ?? {}) : undefined,
    client: medianOf(first.client, (r) => r.client),
    otherCpuShare: med((r) => r.otherCpuShare),
    ioStallShare: med((r) => r.ioStallShare),
    errorSamples: list.flatMap((r) => r.errorSamples ?? [r.error]).slice(0, 5),
  };
}

const ratio = (a, b) => (a === null || b === null || b === undefined || b === 0 ? null : a / b);

/** The product against the floor of the same run: its primary figure (deliveries/s or, for the echo, messages/s). */
export function versusFloor(cfg, product, floor) {
  if (!product || !floor || product.error || floor.error) return null;
  const key = cfg.primary === "messages" ? "messagesPerSec" : "deliveriesPerSec";
  return {
    figure: key,
    product: product.throughput[key],
    floor: floor.throughput[key],
    ratio: ratio(product.throughput[key], floor.throughput[key]),
    p99Ratio: ratio(product.latencyMs.p99, floor.latencyMs.p99),
    connectRatio: ratio(product.connect.seconds, floor.connect.seconds),
    productDnf: product.dnf,
    floorDnf: floor.dnf,
  };
}
