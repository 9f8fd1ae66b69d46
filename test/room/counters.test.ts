import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerUser, startConversation } from "../helpers/api";
import { drainOutbox, roomSocketCount } from "../helpers/rooms";
import { ofType, openSocket } from "../helpers/socket";
import { until } from "../helpers/wait";

/**
 * The operations counters (README, "Operations") as production writes them: Analytics Engine data
 * points on the METRICS binding, seen here by watching the binding the Worker and its objects share.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

function watchMetrics(): AnalyticsEngineDataPoint[] {
  const points: AnalyticsEngineDataPoint[] = [];
  vi.spyOn(env.METRICS, "writeDataPoint").mockImplementation((point) => void (point && points.push(point)));
  return points;
}

const of = (points: AnalyticsEngineDataPoint[], event: string) =>
  points.filter((p) => p.blobs?.[0] === event);

describe("operations counters", () => {
  it("count sockets opened and closed, messages stored (a resend not again), and the outbox's lag", async () => {
    const a = await registerUser("Count", "Sender");
    const b = await registerUser("Count", "Reader");
    const { conversation } = await startConversation(a.token, [b.user.id]);
    const id = conversation.id;
    const points = watchMetrics();

    const room = await openSocket(`/api/conversations/${id}/ws`, { token: a.token });
    const inbox = await openSocket("/api/inbox/ws", { token: b.token });
    await room.next(ofType("ready"));
    await inbox.next(ofType("ready"));
    room.send({ type: "send", body: "one", clientId: "count-1" });
    room.send({ type: "send", body: "two", clientId: "count-2" });
    await room.collect(ofType("ack"), 2);
    room.send({ type: "send", body: "one", clientId: "count-1" }); // the same clientId: no new message
    await room.next(ofType("ack"));
    await drainOutbox(id, 2);
    room.close();
    inbox.close();
    await Promise.all([room.closed, inbox.closed]);
    await until("the room to see its socket gone", async () => (await roomSocketCount(id)) === 0);
    const sockets = () => of(points, "socket").map((p) => p.blobs?.slice(1).join(" ") ?? "");
    await until(
      "both closes to be counted",
      async () => sockets().filter((s) => s.endsWith("close")).length === 2,
    );
    expect(sockets().sort()).toEqual(["inbox close", "inbox open", "room close", "room open"]);
    const stored = of(points, "message").filter((p) => p.indexes?.[0] === id);
    expect(stored.reduce((n, p) => n + (p.doubles?.[0] ?? 0), 0)).toBe(2);
    const lag = of(points, "outbox_lag").filter((p) => p.indexes?.[0] === id);
    expect(lag.length).toBeGreaterThan(0);
    const [lagMs, rows] = lag[0]?.doubles ?? [];
    expect(lagMs).toBeGreaterThanOrEqual(0);
    expect(rows).toBeGreaterThanOrEqual(1);
  });
});
