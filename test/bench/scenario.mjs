// One run of one scenario against one target (targets.mjs): connect every socket and wait for
// `ready`, let the connection's frames drain, run the send phase (bounded: a phase not done after
// --give-up is reported "did not finish"), ask the server for its own record, close, and summarize
// (results.mjs). The load generator runs in worker threads (threads.mjs, client-worker.mjs).

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { saveProfiles } from "./profile.mjs";
import { ROOT, ioStallMicros, machineBusySeconds } from "./proc.mjs";
import { summarize } from "./results.mjs";
import { spread } from "./scenarios.mjs";
import { ClientThread, withTimeout } from "./threads.mjs";

export const RESULTS_DIR = join(ROOT, "test/bench/results");

/** What each socket is: its URL, and whether it sends, reads (receipts) and types. */
export function socketSpecs(cfg, target, room, settings) {
  const window = settings.window ?? cfg.window;
  return Array.from({ length: cfg.sockets }, (_, k) => ({
    url: target.socketUrl(room, target.users[k % cfg.members], settings.batch),
    origin: target.server.url,
    sender: k < cfg.senders ? { index: k, count: cfg.perSender, window } : null,
    reader: Boolean(cfg.web) && spread(k, settings.readers),
    typer: Boolean(cfg.web) && spread(k, settings.typers, 0.5),
  }));
}

export async function runScenario({ name, cfg, target, room, settings, attempt, log }) {
  const { server, profilers } = target;
  const phaseMs = settings.phaseTimeoutMs;
  const threadCount = Math.max(1, Math.min(cfg.sockets >= 100 ? settings.threads : 1, cfg.sockets));
  const threads = Array.from({ length: threadCount }, (_, i) => new ClientThread(i));
  const specs = socketSpecs(cfg, target, room, settings);
  const shares = threads.map(() => []);
  specs.forEach((s, k) => shares[k % threadCount].push(s));
  const tag = `b${attempt}${randomBytes(2).toString("hex")}`;
  const label = `${name} [${target.kind}]`;
  try {
    const before = await target.before(room);
    const rssBeforeConnect = server.memory().rssMiB;
    const peakReset = server.resetPeak();
    const cpu0 = server.cpuSeconds();
    const client0 = process.cpuUsage();
    const t0 = performance.now();

    const profileConnect = profilers.length > 0 && settings.cpuProfilePhase === "connect";
    if (profileConnect) for (const p of profilers) await p.start();
    // Connect every socket and wait for `ready` on each.
    const perThread = Math.max(1, Math.ceil(settings.connectConcurrency / threadCount));
    const connected = await Promise.all(
      threads.map((t, i) =>
        t.request(
          { cmd: "connect", specs: shares[i], concurrency: perThread, timeoutMs: phaseMs },
          "connected",
          phaseMs + 5000,
        ),
      ),
    );
    const connectErrors = connected.reduce((n, c) => n + c.errors, 0);
    const connectSeconds =
      (Math.max(...connected.map((c) => c.lastReadyAt)) - Math.min(...connected.map((c) => c.firstStartAt))) /
      1000;
    const cpuConnect = server.cpuSeconds() - cpu0;
    const connectProfiles = profileConnect
      ? await saveProfiles(profilers, {
          dir: RESULTS_DIR,
          name: `${name}-${target.kind}-connect`,
          attempt,
          log,
        })
      : [];
    const rssAfterConnect = server.memory();
    const heapAfterConnect = {};
    for (const p of profilers) {
      const h = await p.heap().catch(() => null);
      if (h)
        heapAfterConnect[p.target.id] = { usedMiB: h.usedSize / 2 ** 20, totalMiB: h.totalSize / 2 ** 20 };
    }
    if (profilers.length) log(`${label}: V8 heaps after connecting: ${JSON.stringify(heapAfterConnect)}`);
    log(
      `${label}: ${cfg.sockets} sockets ready in ${connectSeconds.toFixed(2)} s (${connectErrors} errors), server CPU ` +
        `${cpuConnect.toFixed(2)} s, server RSS ${rssBeforeConnect.toFixed(0)} -> ${rssAfterConnect.rssMiB.toFixed(0)} MiB`,
    );
    if (connectErrors > 0) {
      throw new Error(
        `${label}: ${connectErrors} sockets failed to connect: ${connected.flatMap((c) => c.errorSamples).join("; ")}`,
      );
    }
    // Let the connection phase's frames (presence) drain before measuring the sends.
    const quiet = await Promise.all(
      threads.map((t) => t.request({ cmd: "quiesce", quietMs: 300, timeoutMs: 30_000 }, "quiet", 35_000)),
    );
    const presenceFrames = quiet.reduce((n, q) => n + q.presence, 0);
    await server.settle({ timeoutMs: 10_000 });

    // Send, collect every receipt, stop when every socket has every message (or give up).
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
    const results = threads.map((t) => t.next("result"));
    if (!profileConnect) for (const p of profilers) await p.start();
    const churnPerSec = cfg.web ? settings.churnPerSec / threadCount : 0;
    for (const t of threads) {
      t.post({
        cmd: "start",
        total: planned,
        bodyChars: settings.bodyChars,
        timeoutMs: settings.giveUpMs,
        tag,
        churnPerSec,
      });
    }
    let sendersTimedOut = false;
    await withTimeout(allSentPromise, settings.giveUpMs + 2000, "senders").catch(() => {
      sendersTimedOut = true;
    });
    const ackedSoFar = senderDone.reduce((n, s) => n + s.acked, 0);
    for (const t of threads) t.post({ cmd: "expect", total: ackedSoFar });
    // Each thread gives up by itself at --give-up; this is the backstop if one is stuck.
    const parts = await withTimeout(Promise.all(results), settings.giveUpMs + 15_000, "results").catch(
      async () => {
        for (const t of threads) t.post({ cmd: "giveUp" });
        return withTimeout(Promise.all(results), 15_000, "results after giving up");
      },
    );
    const cpu2 = server.cpuSeconds();
    const profiles = profileConnect
      ? connectProfiles
      : profilers.length
        ? await saveProfiles(profilers, { dir: RESULTS_DIR, name: `${name}-${target.kind}`, attempt, log })
        : [];
    const client2 = process.cpuUsage(client1);
    const machine2 = machineBusySeconds();
    const wait2 = server.runQueueWaitSeconds();
    const io2 = ioStallMicros();
    const wall2 = performance.now();
    const mem = server.memory();
    const timedOut = sendersTimedOut || parts.some((p) => p.timedOut);

    // Closed first: a server that fell behind stops receiving more work before it is asked.
    await Promise.all(threads.map((t) => t.request({ cmd: "close", timeoutMs: 15_000 }, "closed", 20_000)));
    const totalClient = process.cpuUsage(client0);
    const account = await target.account(room, before, { waitForD1: !timedOut }).catch((err) => {
      // A server still swamped after giving up may not answer in time: unknown, not failed.
      if (!timedOut) throw err;
      log(`${label}: the server's record is unavailable after giving up (${err.message})`);
      return { stored: null, historyPageConsistent: null, d1CaughtUp: null, d1LagSeconds: null };
    });

    return summarize({
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
      connect: {
        heapAfterConnect: profilers.length ? heapAfterConnect : undefined,
        seconds: connectSeconds,
        serverCpuSeconds: cpuConnect,
        presenceFrames,
        rssMiBBefore: rssBeforeConnect,
        rssMiBAfter: rssAfterConnect.rssMiB,
        rssKiBPerSocket: ((rssAfterConnect.rssMiB - rssBeforeConnect) * 1024) / cfg.sockets,
      },
      measured: {
        peakReset,
        mem,
        serverCpu: cpu2 - cpu1,
        clientCpu: (client2.user + client2.system) / 1e6,
        clientCpuTotal: (totalClient.user + totalClient.system) / 1e6,
        machineBusy: machine1 === null || machine2 === null ? null : machine2 - machine1,
        runQueueWait: wait2 - wait1,
        ioStallMicros: io1 === null || io2 === null ? null : io2 - io1,
        wallSeconds: (wall2 - wall1) / 1000,
        totalSeconds: (performance.now() - t0) / 1000,
      },
    });
  } finally {
    await Promise.all(threads.map((t) => t.terminate().catch(() => {})));
  }
}
