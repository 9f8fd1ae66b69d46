// The main thread's handle on one load-generator thread (client-worker.mjs): commands out, replies
// and progress messages back, every wait bounded.

import { Worker } from "node:worker_threads";

export const withTimeout = (promise, ms, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref(),
    ),
  ]);

export class ClientThread {
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
  /** The next message of `type` (registered before anything is posted, so none is missed). */
  next(type) {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.waiters.set(type, { resolve, reject }));
  }
  request(cmd, replyType, timeoutMs) {
    const p = this.next(replyType);
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
