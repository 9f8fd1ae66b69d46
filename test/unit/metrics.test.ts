import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mirrorHistory, HistoryBatchBuilder } from "../../src/db/mirror";
import { DEFAULT_SHARD, shardDb } from "../../src/db/shards";
import { GroupCommit } from "../../src/durable/room/group-commit";
import { RoomStorage } from "../../src/durable/room/storage";
import { RateWindow } from "../../src/durable/room/throttles";
import { newId } from "../../src/ids";
import { log } from "../../src/log";
import { metricsFrom, windowedMetrics } from "../../src/observability/metrics";
import { captureLogs } from "../helpers/logs";
import { person, roomWith, withStorage } from "./support";

/** An Analytics Engine dataset that keeps the points written to it. */
function recordingDataset(): { dataset: AnalyticsEngineDataset; points: AnalyticsEngineDataPoint[] } {
  const points: AnalyticsEngineDataPoint[] = [];
  return { dataset: { writeDataPoint: (p) => void (p && points.push(p)) }, points };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("write metrics", () => {
  it("writes nothing without a METRICS binding", () => {
    expect(() => metricsFrom({}).storageWrite("room", 3)).not.toThrow();
  });

  it("reports a D1 batch with its statements and the rows D1 says it wrote, indexed by conversation", async () => {
    const { dataset, points } = recordingDataset();
    const metrics = metricsFrom({ METRICS: dataset });
    const builder = new HistoryBatchBuilder(65_536, 100);
    const id = newId("c");
    const at = new Date().toISOString();
    // The message's sender and conversation exist in the directory, as they would.
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at) VALUES ('u_metrics', 'm@example.com', 'x', 'M', 'T', ?) ON CONFLICT DO NOTHING",
      ).bind(at),
      env.DB.prepare(
        "INSERT INTO conversations (id, kind, created_by, created_at, updated_at) VALUES (?, 'group', 'u_metrics', ?, ?)",
      ).bind(id, at, at),
    ]);
    for (let seq = 1; seq <= 3; seq++) {
      builder.addMessage({
        id: newId("m"),
        seq,
        senderId: "u_metrics",
        body: `row ${seq}`,
        clientId: null,
        createdAt: new Date().toISOString(),
        editedAt: null,
        deletedAt: null,
      });
    }
    builder.addRead({ userId: "u_metrics", lastReadSeq: 3 });
    await mirrorHistory(shardDb(env, DEFAULT_SHARD), id, builder.build()!, metrics);
    expect(points.map((p) => p.blobs?.[0])).toEqual(["d1_batch", "outbox_lag"]);
    const [point, lag] = points;
    expect(point?.blobs).toEqual(["d1_batch", "history"]);
    expect(point?.indexes).toEqual([id]);
    const [statements, rows] = point?.doubles ?? [];
    expect(statements).toBe(2);
    // Three messages and a read position, each with its index entries: D1 counts every row it wrote.
    expect(rows).toBeGreaterThanOrEqual(4);
    // The batch's lag: how long its oldest message waited (written just now), and its four rows.
    expect(lag).toMatchObject({ blobs: ["outbox_lag", "history"], indexes: [id] });
    expect(lag?.doubles?.[0]).toBeGreaterThanOrEqual(0);
    expect(lag?.doubles?.[1]).toBe(4);
  });

  it("reports one storage write per turn, with the rows the room's SQLite statements wrote", async () => {
    const { dataset, points } = recordingDataset();
    const metrics = metricsFrom({ METRICS: dataset });
    await withStorage(async (storage) => {
      const people = [person(newId("u")), person(newId("u"))];
      const { state } = roomWith(storage, people);
      const store = new RoomStorage(storage, metrics);
      const commits = new GroupCommit(
        store,
        state,
        new RateWindow(1000),
        4000,
        { markAll: () => undefined },
        () => undefined,
      );
      await Promise.resolve();
      points.length = 0;
      for (let i = 0; i < 3; i++) commits.accept(people[0]!.id, `group ${i}`, null, null);
      commits.commit();
      await Promise.resolve();
      expect(points.map((p) => p.blobs)).toEqual([["storage_write", "room"]]);
      // Three messages with their index entries, and the sender's read position; one transaction.
      expect(points[0]?.doubles?.[0]).toBeGreaterThanOrEqual(4);
      expect(points[0]?.doubles?.[1]).toBe(1);
    });
  });

  it("sums an object's storage writes, messages and sockets over a window into one point per kind", async () => {
    const { dataset, points } = recordingDataset();
    const metrics = windowedMetrics(metricsFrom({ METRICS: dataset }), 10);
    for (const rows of [3, 4, 5]) metrics.storageWrite("room", rows);
    metrics.messages("c_one", 2);
    metrics.messages("c_one", 5);
    metrics.socket("room", "open");
    metrics.socket("room", "open");
    metrics.socket("room", "close");
    metrics.d1Batch("history", "c_one", 2, []); // not summed: written at once
    expect(points.map((p) => p.blobs?.[0])).toEqual(["d1_batch"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const byKind = (kind: string) => points.filter((p) => p.blobs?.[0] === kind);
    expect(byKind("storage_write").map((p) => p.doubles)).toEqual([[12, 3]]);
    expect(byKind("message").map((p) => [p.doubles, p.indexes])).toEqual([[[7, 2], ["c_one"]]]);
    expect(byKind("socket").map((p) => [p.blobs, p.doubles])).toEqual([
      [["socket", "room", "open"], [2]],
      [["socket", "room", "close"], [1]],
    ]);
    // The next window starts empty.
    metrics.storageWrite("room", 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(byKind("storage_write").map((p) => p.doubles)).toEqual([
      [12, 3],
      [1, 1],
    ]);
  });

  it("counts every warning and error that is logged as a failure point of its event, and nothing else", async () => {
    const written: AnalyticsEngineDataPoint[] = [];
    vi.spyOn(env.METRICS, "writeDataPoint").mockImplementation(
      (point) => void (point && written.push(point)),
    );
    await captureLogs(async () => {
      log("warn", "probe_warning", { conversationId: "c_probe", shard: "HISTORY_0" });
      log("error", "probe_error", { requestId: "r1" });
      log("info", "probe_info", { conversationId: "c_probe" });
    });
    expect(written).toEqual([
      { blobs: ["failure", "probe_warning", "warn"], doubles: [1], indexes: ["c_probe"] },
      { blobs: ["failure", "probe_error", "error"], doubles: [1], indexes: [""] },
    ]);
  });
});
