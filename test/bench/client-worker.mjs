// One load-generator thread (worker_threads): it owns a share of the scenario's WebSockets, opens them
// as a browser would, sends from the sockets that are senders (bounded in-flight window each), and
// checks every receipt per socket by seq. Commands come from run.mjs; every wait is bounded.
//
// Body of a bench message: "<sender>|<index>|<send time, ms since epoch, fractional>|<padding>", so
// every receipt yields its latency without any shared state between threads.

import { parentPort } from "node:worker_threads";

const now = () => performance.timeOrigin + performance.now();

/** A growable Float64Array / Uint32Array pair: latency and the sender it belongs to. */
class Samples {
  constructor() {
    this.lat = new Float64Array(1024);
    this.who = new Uint32Array(1024);
    this.n = 0;
  }
  push(latency, sender) {
    if (this.n === this.lat.length) {
      const lat = new Float64Array(this.n * 2);
      lat.set(this.lat);
      const who = new Uint32Array(this.n * 2);
      who.set(this.who);
      this.lat = lat;
      this.who = who;
    }
    this.lat[this.n] = latency;
    this.who[this.n] = sender;
    this.n++;
  }
  export() {
    return { lat: this.lat.slice(0, this.n), who: this.who.slice(0, this.n) };
  }
}

let sockets = [];
let run = null; // the current run's state

function post(msg, transfer = []) {
  parentPort.postMessage(msg, transfer);
}

function newSocketState(spec) {
  return {
    spec,
    ws: null,
    base: 0, // lastSeq announced by `ready`
    seen: null,
    uniq: 0,
    last: 0,
    dup: 0,
    ooo: 0,
    unexpected: 0,
    messages: 0,
    acks: 0,
    presence: 0,
    errors: 0,
    other: 0,
    frames: 0,
    batchFrames: 0,
    lastFrameAt: 0,
    closed: false,
    closeInfo: null,
    sender: null,
  };
}

function onFrame(s, data) {
  const t = now();
  s.lastFrameAt = t;
  s.frames++;
  if (typeof data !== "string") {
    s.other++;
    return;
  }
  // Presence storms are counted, not parsed: they measure the server, not this client.
  if (data.startsWith('{"type":"presence"')) {
    s.presence++;
    return;
  }
  let f;
  try {
    f = JSON.parse(data);
  } catch {
    s.other++;
    return;
  }
  // A ?batch=1 socket gets the messages committed together as one array frame.
  if (Array.isArray(f)) {
    s.batchFrames++;
    for (const event of f) onEvent(s, event, t);
  } else {
    onEvent(s, f, t);
  }
}

function onEvent(s, f, t) {
  switch (f?.type) {
    case "message":
      s.messages++;
      receipt(s, f.message, t, false);
      return;
    case "ack":
      s.acks++;
      receipt(s, f.message, t, true);
      if (s.sender) onAck(s, f.clientId);
      return;
    case "error":
      s.errors++;
      if (run && run.errorSamples.length < 10) run.errorSamples.push(f);
      if (s.sender && typeof f.clientId === "string") onSendError(s, f.clientId);
      return;
    case "ready":
      s.base = f.lastSeq;
      s.onReady?.();
      return;
    case "presence":
      s.presence++;
      return;
    default:
      s.other++;
  }
}

function receipt(s, message, t, isAck) {
  if (!run || !s.seen || !message || typeof message.seq !== "number") {
    s.unexpected++;
    return;
  }
  const rel = message.seq - s.base;
  if (rel < 1 || rel >= s.seen.length) {
    s.unexpected++;
    return;
  }
  if (s.seen[rel]) {
    s.dup++;
    return;
  }
  s.seen[rel] = 1;
  s.uniq++;
  if (message.seq < s.last) s.ooo++;
  else s.last = message.seq;
  run.lastReceiptAt = Math.max(run.lastReceiptAt, t);
  const body = message.body;
  const a = body.indexOf("|");
  const b = body.indexOf("|", a + 1);
  const c = body.indexOf("|", b + 1);
  const sender = Number(body.slice(0, a));
  const sentAt = Number(body.slice(b + 1, c));
  (isAck ? run.ackSamples : run.msgSamples).push(t - sentAt, sender);
  maybeFinished();
}

// ---- senders ----

function sendNext(s) {
  const st = s.sender;
  if (st.next >= st.count) return;
  const i = st.next++;
  const t = now();
  if (st.firstSendAt === 0) st.firstSendAt = t;
  let body = `${st.index}|${i}|${t.toFixed(3)}|`;
  if (body.length < run.bodyChars) body += run.pad.slice(0, run.bodyChars - body.length);
  st.inflight++;
  s.ws.send(JSON.stringify({ type: "send", body, clientId: `${st.prefix}${i}` }));
}

function clientIndex(st, clientId) {
  if (typeof clientId !== "string" || !clientId.startsWith(st.prefix)) return -1;
  const i = Number(clientId.slice(st.prefix.length));
  return Number.isInteger(i) && i >= 0 && i < st.count ? i : -1;
}

function settleOne(s, clientId, ok) {
  const st = s.sender;
  const i = clientIndex(st, clientId);
  if (i < 0) {
    st.foreign++;
    return;
  }
  if (st.done[i]) {
    st.dupAcks++;
    return;
  }
  st.done[i] = ok ? 1 : 2;
  st.inflight--;
  if (ok) st.acked++;
  else st.failed++;
  if (st.acked + st.failed === st.count) {
    st.lastAckAt = now();
    post({
      type: "senderDone",
      index: st.index,
      acked: st.acked,
      failed: st.failed,
      firstSendAt: st.firstSendAt,
      lastAckAt: st.lastAckAt,
    });
  } else {
    sendNext(s);
  }
}

function onAck(s, clientId) {
  settleOne(s, clientId, true);
}

function onSendError(s, clientId) {
  settleOne(s, clientId, false);
}

// ---- commands ----

function openOne(s, timeoutMs) {
  return new Promise((resolve) => {
    const startedAt = now();
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ err, startedAt, readyAt: now() });
    };
    const timer = setTimeout(() => settle("timeout waiting for ready"), timeoutMs);
    let ws;
    try {
      // Node's WebSocket (undici) takes headers; a browser sends its page's Origin.
      ws = new WebSocket(s.spec.url, { headers: { origin: s.spec.origin } });
    } catch (err) {
      settle(String(err));
      return;
    }
    s.ws = ws;
    s.onReady = () => settle(null);
    ws.addEventListener("message", (ev) => onFrame(s, ev.data));
    ws.addEventListener("error", () => settle("socket error before ready"));
    ws.addEventListener("close", (ev) => {
      s.closed = true;
      s.closeInfo = { code: ev.code, reason: ev.reason };
      settle(`closed before ready (${ev.code} ${ev.reason})`);
      if (run) maybeFinished();
      closeWaiters.forEach((w) => w());
    });
  });
}

async function connect({ specs, concurrency, timeoutMs }) {
  sockets = specs.map(newSocketState);
  const results = Array.from({ length: sockets.length });
  let nextIdx = 0;
  const lane = async () => {
    while (nextIdx < sockets.length) {
      const i = nextIdx++;
      results[i] = await openOne(sockets[i], timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, sockets.length)) }, lane));
  const errors = results.filter((r) => r.err).map((r) => r.err);
  post({
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
    const last = Math.max(0, ...sockets.map((s) => s.lastFrameAt));
    if (now() - last >= quietMs || now() > deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(quietMs, 50)));
  }
  post({ type: "quiet", presence: sockets.reduce((n, s) => n + s.presence, 0) });
}

function start({ total, bodyChars, timeoutMs, tag }) {
  run = {
    total,
    expected: null,
    bodyChars,
    pad: "x".repeat(Math.max(0, bodyChars)),
    msgSamples: new Samples(),
    ackSamples: new Samples(),
    lastReceiptAt: 0,
    finished: false,
    errorSamples: [],
    timer: setTimeout(() => finish(true), timeoutMs),
  };
  for (const s of sockets) {
    s.seen = new Uint8Array(total + 1);
    s.uniq = s.dup = s.ooo = s.unexpected = s.messages = s.acks = s.errors = s.other = 0;
    s.frames = s.batchFrames = 0;
    s.presence = 0;
    s.last = s.base;
    const sp = s.spec.sender;
    s.sender = sp
      ? {
          index: sp.index,
          count: sp.count,
          window: sp.window,
          prefix: `${tag}-${sp.index}-`,
          next: 0,
          inflight: 0,
          acked: 0,
          failed: 0,
          dupAcks: 0,
          foreign: 0,
          done: new Uint8Array(sp.count),
          firstSendAt: 0,
          lastAckAt: 0,
        }
      : null;
  }
  for (const s of sockets) {
    if (!s.sender) continue;
    if (s.closed) {
      post({
        type: "senderDone",
        index: s.sender.index,
        acked: 0,
        failed: s.sender.count,
        firstSendAt: now(),
        lastAckAt: now(),
      });
      continue;
    }
    for (let k = 0; k < Math.min(s.sender.window, s.sender.count); k++) sendNext(s);
  }
}

function maybeFinished() {
  if (!run || run.finished || run.expected === null) return;
  for (const s of sockets) if (!s.closed && s.uniq < run.expected) return;
  // Everything expected is here: wait a moment for anything extra (duplicates), then report.
  run.finished = true;
  clearTimeout(run.timer);
  setTimeout(() => finish(false), 150);
}

function expect({ total }) {
  if (!run) return;
  run.expected = total;
  maybeFinished();
}

function finish(timedOut) {
  if (!run) return;
  clearTimeout(run.timer);
  const r = run;
  run = null;
  const expected = r.expected ?? r.total;
  const perSocket = sockets.map((s) => ({
    uniq: s.uniq,
    lost: Math.max(0, expected - s.uniq),
    dup: s.dup,
    ooo: s.ooo,
    unexpected: s.unexpected,
    closed: s.closed ? s.closeInfo : null,
  }));
  const sum = (f) => sockets.reduce((n, s) => n + f(s), 0);
  const msg = r.msgSamples.export();
  const ack = r.ackSamples.export();
  post(
    {
      type: "result",
      timedOut,
      sockets: sockets.length,
      expectedPerSocket: expected,
      lost: perSocket.reduce((n, p) => n + p.lost, 0),
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
      closedSockets: perSocket.filter((p) => p.closed).length,
      closeSamples: perSocket
        .filter((p) => p.closed)
        .slice(0, 3)
        .map((p) => p.closed),
      dupAcks: sum((s) => s.sender?.dupAcks ?? 0),
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
  for (const s of sockets) {
    try {
      if (!s.closed) s.ws?.close(1000, "bench done");
    } catch {
      // already closing
    }
  }
  const deadline = now() + timeoutMs;
  await new Promise((resolve) => {
    const check = () => {
      if (sockets.every((s) => s.closed || !s.ws) || now() > deadline) {
        closeWaiters.delete(check);
        clearInterval(iv);
        resolve();
      }
    };
    const iv = setInterval(check, 50);
    closeWaiters.add(check);
    check();
  });
  const open = sockets.filter((s) => !s.closed && s.ws).length;
  sockets = [];
  post({ type: "closed", stillOpen: open });
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
    case "close":
      void closeAll(cmd);
      return;
    case "exit":
      process.exit(0);
  }
});
