// The scenarios (issues 6 and 12). Sockets are dealt to users round-robin; the first `senders`
// sockets (one per user) send `perSender` messages each with at most `window` unacknowledged at a
// time. `web` scenarios model open web clients (client-behaviour.mjs): a fraction of the sockets
// send a read receipt per message, some type, and tabs close and reopen with ?since=.
// `primary` is the figure the product/floor ratio is taken of. `search` is of another kind: see
// search.mjs.

export function scenarioTable({ maxGroup }) {
  const small = { sockets: 10, members: 10, senders: 10, perSender: 200, window: 10, primary: "deliveries" };
  const big = { sockets: 500, members: 500, senders: 5, perSender: 100, window: 10, primary: "deliveries" };
  return {
    small: { ...small, title: "small room, 10 clients × 10 senders" },
    big: { ...big, title: "big room, 500 clients, 5 senders" },
    many: {
      sockets: 2000,
      members: Math.min(maxGroup, 2000),
      senders: 1,
      perSender: 20,
      window: 5,
      primary: "deliveries",
      title: "2,000 clients join one room",
    },
    // A direct conversation with one socket open: the cost of one object per message, acks durable.
    echo: {
      sockets: 1,
      members: 2,
      senders: 1,
      perSender: 5000,
      window: 100,
      direct: true,
      primary: "messages",
      title: "echo, one sender, 100 in flight",
    },
    "small-readers": { ...small, web: true, title: "small room, readers" },
    // Last: today the product collapses here and leaves a backlog the next scenario would feel.
    "big-readers": { ...big, web: true, title: "big room, readers" },
    // Not a socket scenario (search.mjs): GET /api/search latency over a seeded history, product only.
    search: { search: true, members: 24, sockets: 0, title: "message search over a seeded history" },
  };
}

/** Whether the k-th socket is picked for a fraction f: evenly spread, floor(n·f + phase) of n. */
export const spread = (k, f, phase = 0) =>
  f > 0 && Math.floor((k + 1) * f + phase) > Math.floor(k * f + phase);

/** "1 in 5" for 0.2, "30%" where that reads better. */
export function fractionLabel(f) {
  if (f <= 0) return "no";
  const inv = 1 / f;
  return Math.abs(inv - Math.round(inv)) < 1e-9 ? `1 in ${Math.round(inv)}` : `${Math.round(f * 100)}%`;
}
