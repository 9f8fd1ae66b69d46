// What an open web client does besides sending (src/client/views/conversation-view.ts), for the
// scenarios that model it (`web` in scenarios.mjs):
//   - readers (spec.reader) send `{type:"read", seq}` each time a received message or ack moves
//     their contiguous position, as markRead() does for a visible conversation;
//   - typers (spec.typer) send `{type:"typing", active:true}` and, TYPING_ON_MS later, `false`,
//     every TYPING_PERIOD_MS (the client re-sends `true` every 2.5 s while the user types);
//   - tabs come and go: `churnPerSec` times a second (over the whole room) one socket closes and,
//     AWAY_MS later, reopens with ?since=<last seq it saw>, as RoomLink reconnects. A sender tab
//     first stops sending and waits for its acks (a closed tab's unacked sends are resent by the
//     real client; here there are none), so every socket still must see every message exactly once.

import { now } from "./client-socket.mjs";

const TYPING_PERIOD_MS = 2500;
const TYPING_ON_MS = 1000;
const AWAY_MS = 250;

export class Behaviour {
  constructor(thread) {
    this.thread = thread;
    this.timers = new Set();
    this.reopenTimers = new Set();
    this.churnTimer = null;
    this.churning = 0; // sockets away right now
    this.churnFailures = 0;
    this.reconnectErrors = [];
  }

  start({ churnPerSec = 0, timeoutMs }) {
    this.timeoutMs = timeoutMs;
    for (const s of this.thread.sockets) if (s.spec.typer) this.startTyping(s);
    if (churnPerSec > 0) {
      this.churnTimer = setInterval(() => this.churnOne(), 1000 / churnPerSec);
      this.churnTimer.unref?.();
    }
  }

  /** No new typing or tab closes; tabs already away still come back. */
  stop() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.churnTimer) clearInterval(this.churnTimer);
    this.churnTimer = null;
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- read receipts ----

  received(s) {
    if (!s.spec.reader || s.last <= s.lastReadSent || !s.isOpen) return;
    s.lastReadSent = s.last;
    s.readsSent++;
    s.send({ type: "read", seq: s.last });
  }

  // ---- typing ----

  startTyping(s) {
    const cycle = () => {
      if (s.isOpen) {
        s.send({ type: "typing", active: true });
        s.typingSent++;
        this.later(TYPING_ON_MS, () => {
          if (!s.isOpen) return;
          s.send({ type: "typing", active: false });
          s.typingSent++;
        });
      }
      this.later(TYPING_PERIOD_MS, cycle);
    };
    this.later(Math.random() * TYPING_PERIOD_MS, cycle);
  }

  // ---- tabs closing and reopening ----

  churnOne() {
    const candidates = this.thread.sockets.filter((s) => s.isOpen && !s.closed);
    if (candidates.length === 0) return;
    const s = candidates[Math.floor(Math.random() * candidates.length)];
    s.churning = true;
    this.churning++;
    const st = s.sender;
    if (st && !st.finished && st.inflight > 0) st.paused = true;
    else this.readyToClose(s);
  }

  /** A paused sender's last ack arrived (or it had none in flight): the tab closes. */
  readyToClose(s) {
    if (!s.churning || s.ws.readyState !== 1) return;
    s.ws.close(1000, "tab closed");
  }

  closedForChurn(s) {
    const t = setTimeout(() => {
      this.reopenTimers.delete(t);
      void this.reopen(s);
    }, AWAY_MS);
    this.reopenTimers.add(t);
  }

  /** The bench is closing every socket: tabs away stay away. */
  abort() {
    this.stop();
    for (const t of this.reopenTimers) clearTimeout(t);
    this.reopenTimers.clear();
  }

  async reopen(s) {
    const r = await s.connect(this.timeoutMs ?? 30_000, s.last);
    this.churning--;
    s.churning = false;
    if (r.err) {
      this.churnFailures++;
      if (this.reconnectErrors.length < 5) this.reconnectErrors.push(r.err);
      s.closed = true;
      s.closeInfo = { reopenFailed: r.err };
      try {
        s.ws?.close(1000, "gave up reopening");
      } catch {
        // already closed
      }
      this.thread.onSocketClosed();
      return;
    }
    s.reconnects++;
    s.lastReconnectAt = now();
    s.resumeSending();
    this.thread.maybeFinished();
  }
}
