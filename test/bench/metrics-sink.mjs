// Runs inside workerd, next to the product, in the bench's Miniflare only (serve.mjs): it stands in
// for an Analytics Engine dataset bound as METRICS. The product calls
//   env.METRICS?.writeDataPoint({ blobs: [event, ...labels], doubles: [...], indexes: [...] })
// exactly as it would on Cloudflare; here that call is an RPC to this entrypoint, which adds the
// point to per-event totals kept in this isolate's memory. GET /__bench/metrics (routed to this
// worker on the product's port) returns the totals; the bench diffs two snapshots around a run.
//
// Not part of the product: it only has to accept what Analytics Engine accepts, count it, and cost
// the product as little as a real writeDataPoint (which returns nothing and is not awaited).

import { WorkerEntrypoint } from "cloudflare:workers";

/** event → { points, doubles: [sum of each position], labels: { blobs[1] → points } } */
const totals = new Map();
let points = 0;

function add(point) {
  points++;
  const event = typeof point?.blobs?.[0] === "string" ? point.blobs[0] : "(no event)";
  let t = totals.get(event);
  if (!t) totals.set(event, (t = { points: 0, doubles: [], labels: {} }));
  t.points++;
  const doubles = Array.isArray(point?.doubles) ? point.doubles : [];
  for (let i = 0; i < doubles.length; i++) {
    const v = Number(doubles[i]);
    if (Number.isFinite(v)) t.doubles[i] = (t.doubles[i] ?? 0) + v;
  }
  const label = point?.blobs?.[1];
  if (typeof label === "string") t.labels[label] = (t.labels[label] ?? 0) + 1;
}

export class Sink extends WorkerEntrypoint {
  writeDataPoint(point) {
    add(point);
  }
}

export default {
  fetch(request) {
    if (new URL(request.url).pathname !== "/__bench/metrics")
      return new Response("not found", { status: 404 });
    return Response.json({ points, events: Object.fromEntries(totals) });
  },
};
