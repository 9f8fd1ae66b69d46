// One load-generator thread (worker_threads): it owns a share of the scenario's WebSockets
// (client-socket.mjs), opens them as a browser would, runs the send phase (senders with a bounded
// window; readers, typers and tabs coming and going in the web scenarios: client-behaviour.mjs), and
// reports every socket's receipts. Commands come from threads.mjs; every wait is bounded, and the
// send phase gives up after its timeout ("did not finish"), reporting what it has.

import { parentPort } from "node:worker_threads";
import { Behaviour } from "./client-behaviour.mjs";
import { BenchSocket, Samples, now } from "./client-socket.mjs";

const thread = {
  sockets: [],
  run: null, // the current send phase
  behaviour: null,
  post(msg, transfer = []) {
    parentPort.postMessage(msg, transfer);
  },
  onSocketClosed() {
    closeWaiters.forEach((w) => w());
    if (thread.run) thread.maybeFinished();
  },
  /** Done when every socket still open has every expected message and no tab is away. */
  maybeFinished() {
    const run = thread.run;
    if (!run || run.finished || run.expected === null) return;
    if (thread.behaviour.churning > 0) return;
    for (const s of thread.sockets) if (!s.closed && s.uniq < run.expected) return;
    // Everything expected is here: wait a moment for anything extra (duplicates), then report.
    run.finished = true;
    clearTimeout(run.timer);
    setTimeout(() => finish(false), 150);
  },
};
thread.behaviour = new Behaviour(thread);

async function connect({ specs, concurrency, timeoutMs }) {
  thread.sockets = specs.map((spec) => new BenchSocket(spec, thread));
  const sockets = thread.sockets;
  const results = Array.from({ length: sockets.length });
  let nextIdx = 0;
  const lane = async () => {
    while (nextIdx < sockets.length) {
      const i = nextIdx++;
      results[i] = await sockets[i].connect(timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, sockets.length)) }, lane));
  const errors = results.filter((r) => r.err).map((r) => r.err);
  thread.post({
    type: "connected",
    count: sockets.length,
    errors: errors.length,
    errorSamples: [...new Set(errors)].slice(0, 5),
    firstStartAt: Math.min(...results.map((r) => r.startedAt)),
    lastReadyAt: Math.max(...results.map((r) => r.readyAt)),
    presence: sockets.reduce((n, s) => n + s.presence, 0),
  });
}

/** Replies once no frame has arrived for `quietMs` (bounded by `timeoutMs`). */
async function quiesce({ quietMs, timeoutMs }) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const last = Math.max(0, ...thread.sockets.map((s) => s.lastFrameAt));
    if (now() - last >= quietMs || now() > deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(quietMs, 50)));
  }
  thread.post({ type: "quiet", presence: thread.sockets.reduce((n, s) => n + s.presence, 0) });
}

function start({ total, bodyChars, timeoutMs, tag, churnPerSec }) {
  thread.run = {
    total,
    expected: null,
    bodyChars,
    pad: "x".repeat(Math.max(0, bodyChars)),
    msgSamples: new Samples(),
    ackSamples: new Samples(),
    startedAt: now(),
    lastReceiptAt: 0,
    finished: false,
    errorSamples: [],
    timer: setTimeout(() => finish(true), timeoutMs),
  };
  for (const s of thread.sockets) s.resetCounts(total);
  thread.behaviour.start({ churnPerSec, timeoutMs: Math.min(timeoutMs, 30_000) });
  for (const s of thread.sockets) s.startSending(tag);
}

function expect({ total }) {
  if (!thread.run) return;
  thread.run.expected = total;
  thread.behaviour.stop();
  thread.maybeFinished();
}

function finish(timedOut) {
  const r = thread.run;
  if (!r) return;
  clearTimeout(r.timer);
  thread.run = null;
  thread.behaviour.stop();
  const sockets = thread.sockets;
  const expected = r.expected ?? r.total;
  const sum = (f) => sockets.reduce((n, s) => n + f(s), 0);
  const closed = sockets.filter((s) => s.closed);
  const msg = r.msgSamples.export();
  const ack = r.ackSamples.export();
  thread.post(
    {
      type: "result",
      timedOut,
      // Time from the start of the send phase to the give-up, and the last receipt before it.
      secondsToGiveUp: timedOut ? (now() - r.startedAt) / 1000 : null,
      sockets: sockets.length,
      expectedPerSocket: expected,
      lost: sockets.reduce((n, s) => n + Math.max(0, expected - s.uniq), 0),
      dup: sum((s) => s.dup),
      ooo: sum((s) => s.ooo),
      unexpected: sum((s) => s.unexpected),
      messages: sum((s) => s.messages),
      acks: sum((s) => s.acks),
      presence: sum((s) => s.presence),
      errors: sum((s) => s.errors),
      other: sum((s) => s.other),
      frames: sum((s) => s.frames),
      batchFrames: sum((s) => s.batchFrames),
      readsSent: sum((s) => s.readsSent),
      readsReceived: sum((s) => s.readsReceived),
      typingSent: sum((s) => s.typingSent),
      typingReceived: sum((s) => s.typingReceived),
      reconnects: sum((s) => s.reconnects),
      replayed: sum((s) => s.replayed),
      churnFailures: thread.behaviour.churnFailures,
      tabsAwayAtEnd: thread.behaviour.churning,
      closedSockets: closed.length,
      closeSamples: closed.slice(0, 3).map((s) => s.closeInfo),
      reconnectErrors: thread.behaviour.reconnectErrors,
      dupAcks: sum((s) => s.sender?.dupAcks ?? 0),
      senders: sockets.filter((s) => s.sender).map((s) => s.senderSummary()),
      errorSamples: r.errorSamples,
      lastReceiptAt: r.lastReceiptAt,
      msg,
      ack,
    },
    [msg.lat.buffer, msg.who.buffer, ack.lat.buffer, ack.who.buffer],
  );
}

const closeWaiters = new Set();

async function closeAll({ timeoutMs }) {
  thread.behaviour.abort();
  const sockets = thread.sockets;
  for (const s of sockets) {
    s.churning = false;
    try {
      if (!s.closed) s.ws?.close(1000, "bench done");
    } catch {
      // already closing
    }
  }
  const deadline = now() + timeoutMs;
  await new Promise((resolve) => {
    const check = () => {
      if (sockets.every((s) => s.closed || !s.ws || s.ws.readyState === 3) || now() > deadline) {
        closeWaiters.delete(check);
        clearInterval(iv);
        resolve();
      }
    };
    const iv = setInterval(check, 50);
    closeWaiters.add(check);
    check();
  });
  const open = sockets.filter((s) => !s.closed && s.ws && s.ws.readyState !== 3).length;
  thread.sockets = [];
  thread.post({ type: "closed", stillOpen: open });
}

parentPort.on("message", (cmd) => {
  switch (cmd.cmd) {
    case "connect":
      void connect(cmd);
      return;
    case "quiesce":
      void quiesce(cmd);
      return;
    case "start":
      start(cmd);
      return;
    case "expect":
      expect(cmd);
      return;
    case "giveUp":
      finish(true);
      return;
    case "close":
      void closeAll(cmd);
      return;
    case "exit":
      process.exit(0);
  }
});
