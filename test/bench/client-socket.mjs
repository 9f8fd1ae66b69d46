// One WebSocket of the load generator: opens it as a browser would, checks every receipt by seq
// (lost, duplicated, out of order), records latencies, and, if it is a sender, keeps a bounded
// window of unacknowledged sends. Used by client-worker.mjs (one thread owns many of these).
//
// Body of a bench message: "<sender>|<index>|<send time, ms since epoch, fractional>|<padding>", so
// every receipt yields its latency without any shared state between threads.

export const now = () => performance.timeOrigin + performance.now();

function occurrences(text, needle) {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** A growable Float64Array / Uint32Array pair: latency and the sender it belongs to. */
export class Samples {
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

/**
 * `thread` is the owning load-generator thread: `run` (the current send phase or null), `post(msg)`,
 * `maybeFinished()` and `behaviour` (what a web client does on top: client-behaviour.mjs).
 */
export class BenchSocket {
  constructor(spec, thread) {
    this.spec = spec;
    this.thread = thread;
    this.ws = null;
    this.readies = 0;
    this.base = 0; // lastSeq announced by the first `ready`: the run's seqs are base+1..base+total
    this.closed = false; // closed for good (not a tab coming back)
    this.closeInfo = null;
    this.churning = false; // closed on purpose, coming back with ?since=
    this.lastFrameAt = 0;
    this.onReady = null;
    this.resetCounts(0);
  }

  resetCounts(total) {
    this.seen = total ? new Uint8Array(total + 1) : null;
    this.uniq = this.dup = this.ooo = this.unexpected = 0;
    this.messages = this.acks = this.presence = this.errors = this.other = 0;
    this.frames = this.batchFrames = 0;
    this.readsReceived = this.typingReceived = 0;
    this.readsSent = this.typingSent = 0;
    this.replayed = this.reconnects = 0;
    this.last = this.base;
    this.lastReadSent = this.base;
    this.replayTo = 0; // after a reconnect: receipts up to here are the replay (no latency sample)
    this.sender = null;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === 1 && !this.churning;
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  /** Opens the socket (`since`: a reconnecting tab) and resolves once `ready` arrives or it fails. */
  connect(timeoutMs, since = null) {
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
      const url = since === null ? this.spec.url : `${this.spec.url}&since=${since}`;
      try {
        // Node's WebSocket (undici) takes headers; a browser sends its page's Origin.
        ws = new WebSocket(url, { headers: { origin: this.spec.origin } });
      } catch (err) {
        settle(String(err));
        return;
      }
      this.ws = ws;
      let ready = false;
      this.onReady = () => {
        ready = true;
        settle(null);
      };
      ws.addEventListener("message", (ev) => this.onFrame(ev.data));
      ws.addEventListener("error", () => settle("socket error before ready"));
      ws.addEventListener("close", (ev) => {
        if (ws !== this.ws) return;
        settle(`closed before ready (${ev.code} ${ev.reason})`);
        if (this.churning) {
          // A tab closed on purpose comes back; one that failed to come back is the reopen's to report.
          if (ready) this.thread.behaviour.closedForChurn(this);
          return;
        }
        this.closed = true;
        this.closeInfo = { code: ev.code, reason: ev.reason };
        this.thread.onSocketClosed();
      });
    });
  }

  onFrame(data) {
    const t = now();
    this.lastFrameAt = t;
    this.frames++;
    if (typeof data !== "string") {
      this.other++;
      return;
    }
    // A frame with no message in it (receipts, typing, presence: storms of them in the web scenarios)
    // is counted, not parsed: it measures the server, not this client. Every message and ack event
    // has a "message" key, so nothing the integrity checks need is skipped.
    if (!data.includes('"message"') && !data.includes('"type":"ready"')) {
      this.readsReceived += occurrences(data, '"type":"read"');
      this.typingReceived += occurrences(data, '"type":"typing"');
      this.presence += occurrences(data, '"type":"presence"');
      if (data.startsWith("[")) this.batchFrames++;
      return;
    }
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      this.other++;
      return;
    }
    // A ?batch=1 socket gets the events produced together as one array frame.
    if (Array.isArray(f)) {
      this.batchFrames++;
      for (const event of f) this.onEvent(event, t);
    } else {
      this.onEvent(f, t);
    }
  }

  onEvent(f, t) {
    const run = this.thread.run;
    switch (f?.type) {
      case "message":
        this.messages++;
        this.receipt(f.message, t, false);
        return;
      case "ack":
        this.acks++;
        this.receipt(f.message, t, true);
        if (this.sender) this.settleSend(f.clientId, true);
        return;
      case "read":
        this.readsReceived++;
        return;
      case "typing":
        this.typingReceived++;
        return;
      case "presence":
        this.presence++;
        return;
      case "error":
        this.errors++;
        if (run && run.errorSamples.length < 10) run.errorSamples.push(f);
        if (this.sender && typeof f.clientId === "string") this.settleSend(f.clientId, false);
        return;
      case "ready":
        if (this.readies++ === 0) this.base = f.lastSeq;
        else this.replayTo = f.lastSeq;
        this.onReady?.();
        return;
      default:
        this.other++;
    }
  }

  receipt(message, t, isAck) {
    const run = this.thread.run;
    if (!run || !this.seen || !message || typeof message.seq !== "number") {
      this.unexpected++;
      return;
    }
    const rel = message.seq - this.base;
    if (rel < 1 || rel >= this.seen.length) {
      this.unexpected++;
      return;
    }
    if (this.seen[rel]) {
      this.dup++;
      return;
    }
    this.seen[rel] = 1;
    this.uniq++;
    if (message.seq < this.last) this.ooo++;
    else this.last = message.seq;
    run.lastReceiptAt = Math.max(run.lastReceiptAt, t);
    if (message.seq <= this.replayTo) {
      // A reconnecting tab's catch-up: counted for integrity, not as a delivery latency.
      this.replayed++;
    } else {
      const body = message.body;
      const a = body.indexOf("|");
      const b = body.indexOf("|", a + 1);
      const c = body.indexOf("|", b + 1);
      const sender = Number(body.slice(0, a));
      const sentAt = Number(body.slice(b + 1, c));
      (isAck ? run.ackSamples : run.msgSamples).push(t - sentAt, sender);
    }
    this.thread.behaviour.received(this);
    this.thread.maybeFinished();
  }

  // ---- sending ----

  startSending(tag) {
    const sp = this.spec.sender;
    this.sender = sp
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
          finished: false,
          paused: false, // a tab about to close: waits for its acks, sends nothing new
        }
      : null;
    if (!this.sender) return;
    if (this.closed) {
      this.sender.failed = this.sender.count;
      this.senderDone();
      return;
    }
    this.fillWindow();
  }

  fillWindow() {
    const st = this.sender;
    // After the send phase (given up) acks may still come in: they are counted, nothing more is sent.
    if (!this.thread.run) return;
    while (!st.paused && st.inflight < st.window && st.next < st.count) this.sendNext();
  }

  sendNext() {
    const st = this.sender;
    const run = this.thread.run;
    const i = st.next++;
    const t = now();
    if (st.firstSendAt === 0) st.firstSendAt = t;
    let body = `${st.index}|${i}|${t.toFixed(3)}|`;
    if (body.length < run.bodyChars) body += run.pad.slice(0, run.bodyChars - body.length);
    st.inflight++;
    this.send({ type: "send", body, clientId: `${st.prefix}${i}` });
  }

  clientIndex(clientId) {
    const st = this.sender;
    if (typeof clientId !== "string" || !clientId.startsWith(st.prefix)) return -1;
    const i = Number(clientId.slice(st.prefix.length));
    return Number.isInteger(i) && i >= 0 && i < st.count ? i : -1;
  }

  settleSend(clientId, ok) {
    const st = this.sender;
    const i = this.clientIndex(clientId);
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
      this.senderDone();
    } else if (st.paused) {
      if (st.inflight === 0) this.thread.behaviour.readyToClose(this);
    } else {
      this.fillWindow();
    }
  }

  senderDone() {
    const st = this.sender;
    st.finished = true;
    this.thread.post({ type: "senderDone", ...this.senderSummary() });
    if (st.paused && st.inflight === 0) this.thread.behaviour.readyToClose(this);
  }

  senderSummary() {
    const st = this.sender;
    return {
      index: st.index,
      acked: st.acked,
      failed: st.failed,
      finished: st.finished,
      firstSendAt: st.firstSendAt,
      lastAckAt: st.lastAckAt,
    };
  }

  /** Back after a reconnect: a paused sender resumes where it stopped. */
  resumeSending() {
    if (!this.sender) return;
    this.sender.paused = false;
    if (!this.sender.finished) this.fillWindow();
  }
}
