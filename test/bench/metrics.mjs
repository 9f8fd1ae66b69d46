// Server-side write costs per message (issue 11, "Measure it"), read from the METRICS sink that
// serve.mjs binds next to the product (metrics-sink.mjs). The product reports its writes as
// Analytics Engine data points; the bench snapshots the totals before and after each run (after the
// server has settled, so the room's D1 flush and inbox writes of that run are in) and divides by
// the messages acked. A figure whose event the product has never written is null ("n/a").

/** The data points the bench understands: blobs[0] names the event, doubles are positional. */
export const EVENTS = {
  // One D1 batch (or single statement) sent by the product: doubles [statements, rows_written].
  d1Batch: "d1_batch",
  // Writes to a Durable Object's own SQLite storage, summed over the object's METRICS_WINDOW_MS:
  // doubles [rows_written, transactions].
  storageWrite: "storage_write",
};

export class ServerMetrics {
  constructor(baseUrl) {
    this.url = `${baseUrl}/__bench/metrics`;
  }

  /** The sink's cumulative totals, or null when there is no sink (wrangler-dev, start-worker). */
  async snapshot() {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) return null;
      const body = await res.json();
      return body && typeof body.points === "number" ? body : null;
    } catch {
      return null;
    }
  }
}

const delta = (before, after, event, i) =>
  (after.events[event]?.doubles?.[i] ?? 0) - (before?.events[event]?.doubles?.[i] ?? 0);
const pointsDelta = (before, after, event) =>
  (after.events[event]?.points ?? 0) - (before?.events[event]?.points ?? 0);

/** Per-message figures of one run from two snapshots; every figure null when it cannot be known. */
export function writesPerMessage(before, after, messages) {
  const none = {
    d1BatchesPerMsg: null,
    d1StatementsPerMsg: null,
    d1RowsPerMsg: null,
    storageRowsPerMsg: null,
  };
  if (!before || !after || !messages) return { ...none, sink: Boolean(after), points: null };
  const seen = (event) => after.events[event] !== undefined;
  const per = (v) => v / messages;
  return {
    sink: true,
    points: after.points - before.points,
    d1BatchesPerMsg: seen(EVENTS.d1Batch) ? per(pointsDelta(before, after, EVENTS.d1Batch)) : null,
    d1StatementsPerMsg: seen(EVENTS.d1Batch) ? per(delta(before, after, EVENTS.d1Batch, 0)) : null,
    d1RowsPerMsg: seen(EVENTS.d1Batch) ? per(delta(before, after, EVENTS.d1Batch, 1)) : null,
    storageRowsPerMsg: seen(EVENTS.storageWrite) ? per(delta(before, after, EVENTS.storageWrite, 0)) : null,
    storageWritesPerMsg: seen(EVENTS.storageWrite) ? per(delta(before, after, EVENTS.storageWrite, 1)) : null,
  };
}
