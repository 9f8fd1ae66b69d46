/**
 * Counters as Analytics Engine data points (binding METRICS; README, "Operations"), so production
 * shows what the benchmark measures (test/bench/metrics.mjs reads the same shapes from its sink):
 *   d1_batch       blobs [event, label]          doubles [statements, rowsWritten]  indexes [conversationId]
 *   storage_write  blobs [event, label]          doubles [rowsWritten, transactions]
 *   message        blobs [event]                 doubles [messagesStored, groups]   indexes [conversationId]
 *   socket         blobs [event, object, change] doubles [sockets]
 *   outbox_lag     blobs [event, "history"]      doubles [lagMs, rows]              indexes [conversationId]
 *   failure        blobs [event, logEvent, level] doubles [1]                       indexes [conversationId or ""]
 * rowsWritten is what the platform reports (D1's `meta.rows_written`, a SQL cursor's
 * `rowsWritten`), indexes included: it is what is billed and what fills a database. Without the
 * binding every call is a no-op. A data point is never awaited and never fails a write.
 */
export interface Metrics {
  /** One D1 batch (or single statement) that succeeded, with its results. */
  d1Batch(label: string, conversationId: string, statements: number, results: readonly D1Result[]): void;
  /** Write transactions (one by default) of an object's own SQLite storage, and the rows they wrote. */
  storageWrite(label: string, rowsWritten: number, transactions?: number): void;
  /** Committed groups of sends (one by default) that stored `count` new messages. */
  messages(conversationId: string, count: number, groups?: number): void;
  /** Sockets (one by default) accepted, or gone, on a conversation's object ("room") or a user's ("inbox"). */
  socket(object: "room" | "inbox", change: "open" | "close", count?: number): void;
  /** A history batch the shard took: how long its oldest row had waited since it changed, and its rows. */
  outboxLag(conversationId: string, lagMs: number, rows: number): void;
  /** A warning or error that was logged (src/log.ts), by its event. */
  failure(event: string, level: "warn" | "error", conversationId: string | undefined): void;
}

const nothing = () => undefined;
export const NO_METRICS: Metrics = {
  d1Batch: nothing,
  storageWrite: nothing,
  messages: nothing,
  socket: nothing,
  outboxLag: nothing,
  failure: nothing,
};

/** The dataset's limit on an index (Analytics Engine limits: 96 bytes). */
const INDEX_MAX_CHARS = 96;

export function metricsFrom(env: { METRICS?: AnalyticsEngineDataset | undefined }): Metrics {
  const dataset = env.METRICS;
  if (!dataset) return NO_METRICS;
  const write = (point: AnalyticsEngineDataPoint) => {
    try {
      dataset.writeDataPoint(point);
    } catch {
      // Over the per-invocation limit of data points, or a dataset that is unavailable: the
      // measurement is lost, never the write it describes.
    }
  };
  return {
    d1Batch(label, conversationId, statements, results) {
      let rows = 0;
      for (const r of results) rows += r.meta?.rows_written ?? 0;
      write({
        blobs: ["d1_batch", label],
        doubles: [statements, rows],
        indexes: [conversationId.slice(0, INDEX_MAX_CHARS)],
      });
    },
    storageWrite(label, rowsWritten, transactions = 1) {
      write({ blobs: ["storage_write", label], doubles: [rowsWritten, transactions] });
    },
    messages(conversationId, count, groups = 1) {
      write({
        blobs: ["message"],
        doubles: [count, groups],
        indexes: [conversationId.slice(0, INDEX_MAX_CHARS)],
      });
    },
    socket(object, change, count = 1) {
      write({ blobs: ["socket", object, change], doubles: [count] });
    },
    outboxLag(conversationId, lagMs, rows) {
      write({
        blobs: ["outbox_lag", "history"],
        doubles: [lagMs, rows],
        indexes: [conversationId.slice(0, INDEX_MAX_CHARS)],
      });
    },
    failure(event, level, conversationId) {
      write({
        blobs: ["failure", event, level],
        doubles: [1],
        indexes: [(conversationId ?? "").slice(0, INDEX_MAX_CHARS)],
      });
    },
  };
}

/**
 * An object's SQL storage that counts the rows its statements write and reports them as one
 * `storage_write` per synchronous turn: the statements an event runs without awaiting are
 * committed together (the runtime's implicit transaction), so one turn is one write transaction.
 */
export function meteredSql(sql: SqlStorage, metrics: Metrics, label: string): Pick<SqlStorage, "exec"> {
  if (metrics === NO_METRICS) return sql;
  let pending = 0;
  const report = () => {
    const rows = pending;
    pending = 0;
    metrics.storageWrite(label, rows);
  };
  return {
    exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) {
      const cursor = sql.exec<T>(query, ...bindings);
      // A statement that returns no rows has run to completion here, so its count is final.
      const written = cursor.rowsWritten;
      if (written > 0) {
        if (pending === 0) queueMicrotask(report);
        pending += written;
      }
      return cursor;
    },
  };
}

/**
 * An object's counters summed over a window (METRICS_WINDOW_MS) and written as one data point per
 * kind at its end, instead of one per transaction, group or socket: a busy room commits hundreds of
 * groups a second, and each data point costs the object a call (and is billed). Failures, D1
 * batches and the outbox's lag (at most one per outbox flush) are written as they happen.
 * A window still open when the object is evicted is lost; the timer keeps a live object awake
 * only until the window ends.
 */
export function windowedMetrics(metrics: Metrics, windowMs: number): Metrics {
  if (metrics === NO_METRICS || windowMs <= 0) return metrics;
  const storage = new Map<string, [rows: number, transactions: number]>();
  const stored = new Map<string, [messages: number, groups: number]>();
  const sockets = new Map<"room" | "inbox", { open: number; close: number }>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    for (const [label, [rows, transactions]] of storage) metrics.storageWrite(label, rows, transactions);
    for (const [id, [count, groups]] of stored) metrics.messages(id, count, groups);
    for (const [object, { open, close }] of sockets) {
      if (open > 0) metrics.socket(object, "open", open);
      if (close > 0) metrics.socket(object, "close", close);
    }
    storage.clear();
    stored.clear();
    sockets.clear();
  };
  const due = () => {
    timer ??= setTimeout(flush, windowMs);
  };
  const add = (map: Map<string, [number, number]>, key: string, a: number, b: number) => {
    const sums = map.get(key);
    if (sums) {
      sums[0] += a;
      sums[1] += b;
    } else map.set(key, [a, b]);
    due();
  };
  return {
    ...metrics,
    storageWrite: (label, rows, transactions = 1) => add(storage, label, rows, transactions),
    messages: (conversationId, count, groups = 1) => add(stored, conversationId, count, groups),
    socket(object, change, count = 1) {
      const sums = sockets.get(object) ?? { open: 0, close: 0 };
      sums[change] += count;
      sockets.set(object, sums);
      due();
    },
  };
}
