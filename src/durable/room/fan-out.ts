import type { ErrorCode } from "../../protocol/errors";
import type { Message } from "../../protocol/models";
import type { RoomEvent } from "../../protocol/frames";
import { type SocketAttachment, safeSend } from "../sockets";
import type { CommittedGroup } from "./group-commit";
import type { StoredMessage } from "./storage";

/** The sockets a room sends to: calls `send` for each; a socket whose send fails is forgotten. */
export interface Audience {
  each(send: (ws: WebSocket, attachment: SocketAttachment) => boolean): void;
}

interface GroupEvent {
  from: WebSocket | null;
  /** The `message` event for everyone else; null for a clientId resend (nothing new to tell). */
  message: string | null;
  /** The `ack` for the socket that sent it; null for a REST send. */
  ack: string | null;
}

/**
 * What each socket receives of a committed group: its own acks in place of its own messages, and
 * everyone else's messages. Each event is serialized once. A socket that asked for `?batch=1`
 * gets the whole group in one array frame: one send per socket per group instead of one per
 * message (the runtime's send is most of a busy room's CPU). These sends leave only once the
 * commit is durable: the output gate holds them.
 */
export function fanOutGroup(
  audience: Audience,
  group: CommittedGroup,
  view: (m: StoredMessage) => Message,
): void {
  if (group.sends.length === 0) return;
  const events: GroupEvent[] = [];
  const senders = new Set<WebSocket | null>();
  for (const s of group.sends) {
    // The message is serialized once and shared by its two events (RoomEvent's `message` and `ack`).
    const message = JSON.stringify(view(s.message));
    events.push({
      from: s.from,
      message: s.created ? `{"type":"message","message":${message}}` : null,
      ack: s.from ? `{"type":"ack","clientId":${JSON.stringify(s.clientId)},"message":${message}}` : null,
    });
    senders.add(s.from);
  }
  // The frame of every batch socket that sent nothing in this group: built once, on first use.
  let common: string | null = null;
  audience.each((ws, a) => {
    if (!a.batch) {
      for (const e of events) {
        const data = e.from === ws ? e.ack : e.message;
        if (data !== null && !safeSend(ws, data)) return false;
      }
      return true;
    }
    if (senders.has(ws)) return sendFrame(ws, framesFor(events, ws));
    common ??= joinFrame(framesFor(events, null));
    return common === "" || safeSend(ws, common);
  });
}

/** One event of a signals window (signals.ts), serialized once; `exceptUser`'s sockets skip it. */
export interface SignalEvent {
  data: string;
  exceptUser?: string;
}

/**
 * A window's read positions, typing and presence changes: one frame per `?batch=1` socket (the
 * same frame for every socket whose user is not excepted from an event), one frame per event for
 * the others. O(sockets) sends per window, whatever the number of changes.
 */
export function fanOutSignals(audience: Audience, events: readonly SignalEvent[]): void {
  if (events.length === 0) return;
  const excepted = new Set<string>();
  for (const e of events) if (e.exceptUser !== undefined) excepted.add(e.exceptUser);
  let common: string | null = null;
  const own = new Map<string, string>();
  audience.each((ws, a) => {
    if (!a.batch) {
      for (const e of events) if (e.exceptUser !== a.userId && !safeSend(ws, e.data)) return false;
      return true;
    }
    if (!excepted.has(a.userId)) {
      common ??= joinFrame(events.map((e) => e.data));
      return safeSend(ws, common);
    }
    let frame = own.get(a.userId);
    if (frame === undefined) {
      frame = joinFrame(events.flatMap((e) => (e.exceptUser === a.userId ? [] : [e.data])));
      own.set(a.userId, frame);
    }
    return frame === "" || safeSend(ws, frame);
  });
}

/** The events of a group one socket receives, in seq order (`ws` null: a socket that sent none). */
function framesFor(events: readonly GroupEvent[], ws: WebSocket | null): string[] {
  const out: string[] = [];
  for (const e of events) {
    const data = ws !== null && e.from === ws ? e.ack : e.message;
    if (data !== null) out.push(data);
  }
  return out;
}

/** One event as itself, several as a JSON array, none as "". */
function joinFrame(parts: string[]): string {
  return parts.length === 1 ? (parts[0] ?? "") : parts.length === 0 ? "" : `[${parts.join(",")}]`;
}

function sendFrame(ws: WebSocket, parts: string[]): boolean {
  return parts.length === 0 || safeSend(ws, joinFrame(parts));
}

/**
 * What a new socket receives before anything else: `ready`, then (with `since`) the messages it
 * missed: one array frame for a `?batch=1` socket (a tab reopening in a busy room), else one
 * frame each.
 */
export function sendWelcome(
  ws: WebSocket,
  batch: boolean,
  ready: Extract<RoomEvent, { type: "ready" }>,
  missed: readonly StoredMessage[],
  view: (m: StoredMessage) => Message,
): void {
  safeSend(ws, JSON.stringify(ready));
  const events = missed.map((m) => JSON.stringify({ type: "message", message: view(m) } satisfies RoomEvent));
  if (batch) sendFrame(ws, events);
  else for (const e of events) safeSend(ws, e);
}

/** An `error` event for one socket: a frame refused (with its clientId, for a send) or failed. */
export function sendError(ws: WebSocket, code: ErrorCode, message: string, clientId?: string): void {
  const event: RoomEvent =
    clientId === undefined ? { type: "error", code, message } : { type: "error", code, message, clientId };
  safeSend(ws, JSON.stringify(event));
}
