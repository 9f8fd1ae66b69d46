// The floor: a bare `ws` broadcast server speaking just enough of the conversation socket protocol
// (API.md) for the bench's load generator to drive it exactly as it drives the product. Every
// scenario runs against it in the same invocation; the report states the product as a ratio to it.
// It runs in its own Node process (floor.mjs spawns it): one thread, like one room object.
//
// What it does, and nothing more (no auth, no storage, no durability, no validation, no presence):
//   - GET /api/conversations/:id/ws?access_token=<userId>[&batch=1][&since=<seq>]: the token IS the
//     user id (the bench gives the floor fake users). `ready` {lastSeq, online: []}, then the messages
//     after `since` it still holds (the last REPLAY_LIMIT), then live events.
//   - `send` → the next seq; `ack` (clientId + message) to the sending socket, `message` to every
//     other socket. A message has the product's shape (sender as a User, timestamps), serialized once.
//   - `typing` → `{type:"typing", userId, active}` to every socket of other users: naively, one event
//     per frame received, no coalescing.
//   - `read` frames are dropped: the floor is the cost of moving messages only, so a scenario whose
//     clients send read receipts shows what the receipts cost the product on top of that.
//   - `ping` → `pong`.
//   - one frame per event, whatever the socket asked for (a bare server). With batch "on" (the
//     --floor-batch on option), `?batch=1` sockets get the events produced while handling the frames
//     read in one turn of the event loop as one JSON array per socket (the product's equivalent: its
//     group commit), built once and shared by every socket that gets the same events.
//   - GET /healthz, GET /floor/rooms/:id → {lastSeq} (the bench's account of what was sequenced).
//
// Argument: one JSON spec {port, batch: "on" | "off", deflate: boolean}; batch "off" (the default)
// ignores ?batch=1 (one frame per event everywhere); deflate offers permessage-deflate as the
// product's runtime does (off by default, as in a bare ws server). Stops on SIGTERM/SIGINT, or when its parent goes away.

import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const spec = JSON.parse(process.argv[2] ?? "{}");
const REPLAY_LIMIT = 500;
const MAX_FRAME_BYTES = 16 * 1024;
const batchAllowed = spec.batch === "on";

/**
 * id → { seq, log: [{seq, event}] (at least the last REPLAY_LIMIT messages), plain and batched:
 * the open sockets by kind, pending: this turn's events for the batched ones }
 */
const rooms = new Map();

function room(id) {
  let r = rooms.get(id);
  if (!r) {
    r = { id, seq: 0, log: [], plain: new Set(), batched: new Set(), pending: [], flushQueued: false };
    rooms.set(id, r);
  }
  return r;
}

const http = createServer((req, res) => {
  const url = new URL(req.url, "http://floor");
  if (url.pathname === "/healthz") return reply(res, 200, { ok: true });
  const m = /^\/floor\/rooms\/([^/]+)$/.exec(url.pathname);
  if (m && req.method === "GET") return reply(res, 200, { lastSeq: rooms.get(m[1])?.seq ?? 0 });
  reply(res, 404, { error: { code: "not_found" } });
});

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

// A bare server: ws defaults (no permessage-deflate unless asked), the product's frame limit.
const wss = new WebSocketServer({
  noServer: true,
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: spec.deflate === true,
});

http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://floor");
  const m = /^\/api\/conversations\/([^/]+)\/ws$/.exec(url.pathname);
  const user = url.searchParams.get("access_token");
  if (!m || !user) {
    socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const sinceParam = url.searchParams.get("since");
    onOpen(ws, room(m[1]), {
      user,
      batch: batchAllowed && url.searchParams.get("batch") === "1",
      since: sinceParam === null ? null : Number(sinceParam),
    });
  });
});

function onOpen(ws, r, { user, batch, since }) {
  // A socket opening mid-turn gets only the turn's events queued after it (the rest are in `ready`).
  const conn = { ws, user, joinedTurn: r.pending, joinedAt: r.pending.length };
  const set = batch ? r.batched : r.plain;
  set.add(conn);
  ws.send(JSON.stringify({ type: "ready", conversationId: r.id, lastSeq: r.seq, online: [] }));
  if (since !== null && Number.isSafeInteger(since)) {
    const replay = r.log.filter((m) => m.seq > since).map((m) => m.event);
    if (replay.length > 0 && batch) ws.send(`[${replay.join(",")}]`);
    else for (const event of replay) ws.send(event);
  }
  ws.on("message", (data, isBinary) => onFrame(r, conn, isBinary ? null : data.toString()));
  ws.on("close", () => set.delete(conn));
  ws.on("error", () => set.delete(conn));
}

function onFrame(r, conn, text) {
  if (text === "ping") {
    conn.ws.send("pong");
    return;
  }
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    f = null;
  }
  switch (f?.type) {
    case "send": {
      const seq = ++r.seq;
      const message = JSON.stringify({
        id: `m_${r.id}_${seq}`,
        conversationId: r.id,
        seq,
        sender: { id: conn.user, firstName: "Bench", lastName: conn.user, avatarUrl: null },
        body: String(f.body),
        clientId: typeof f.clientId === "string" ? f.clientId : null,
        createdAt: new Date().toISOString(),
        editedAt: null,
        deletedAt: null,
      });
      const event = `{"type":"message","message":${message}}`;
      r.log.push({ seq, event });
      if (r.log.length > REPLAY_LIMIT * 2) r.log.splice(0, r.log.length - REPLAY_LIMIT);
      const ack = `{"type":"ack","clientId":${JSON.stringify(f.clientId ?? null)},"message":${message}}`;
      emit(r, { event, exceptConn: conn, own: ack });
      return;
    }
    case "read":
      return; // not relayed: see the header
    case "typing":
      emit(r, {
        event: JSON.stringify({ type: "typing", userId: conn.user, active: f.active === true }),
        exceptUser: conn.user,
      });
      return;
    default:
      conn.ws.send(JSON.stringify({ type: "error", code: "validation_failed", message: "unknown frame" }));
  }
}

/** One event: sent at once to unbatched sockets, queued for this turn's array to batched ones. */
function emit(r, e) {
  for (const c of r.plain) {
    if (c === e.exceptConn) {
      if (e.own) c.ws.send(e.own);
    } else if (c.user !== e.exceptUser) {
      c.ws.send(e.event);
    }
  }
  if (r.batched.size === 0) return;
  r.pending.push(e);
  if (!r.flushQueued) {
    r.flushQueued = true;
    setImmediate(flush, r);
  }
}

/** The turn's events to every batched socket: one shared array, rebuilt only for the sockets excepted. */
function flush(r) {
  const events = r.pending;
  r.pending = [];
  r.flushQueued = false;
  const conns = new Set();
  const users = new Set();
  for (const e of events) {
    if (e.exceptConn) conns.add(e.exceptConn);
    if (e.exceptUser !== undefined) users.add(e.exceptUser);
  }
  let common = null;
  for (const c of r.batched) {
    const from = c.joinedTurn === events ? c.joinedAt : 0;
    c.joinedTurn = null;
    if (from === 0 && !conns.has(c) && !users.has(c.user)) {
      common ??= frame(events.map((e) => e.event));
      c.ws.send(common);
      continue;
    }
    const parts = [];
    for (let i = from; i < events.length; i++) {
      const e = events[i];
      if (e.exceptConn === c) {
        if (e.own) parts.push(e.own);
      } else if (e.exceptUser !== c.user) {
        parts.push(e.event);
      }
    }
    if (parts.length > 0) c.ws.send(frame(parts));
  }
}

const frame = (parts) => (parts.length === 1 ? parts[0] : `[${parts.join(",")}]`);

http.listen(spec.port, "127.0.0.1", () => console.log(`floor serving on 127.0.0.1:${spec.port}`));

const shutdown = () => {
  for (const c of wss.clients) c.terminate();
  http.close();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown();
}, 1000).unref();
setTimeout(shutdown, 60 * 60_000).unref();
