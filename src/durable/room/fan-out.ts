import type { ErrorCode } from "../../protocol/errors";
import type { Message } from "../../protocol/models";
import type { RoomEvent } from "../../protocol/frames";
import { utf8Length } from "../../utf8";
import { type SocketAttachment, safeSend } from "../sockets";
import type { CommittedGroup } from "./group-commit";
import type { StoredMessage } from "./storage";

/** The sockets a room sends to: calls `send` for each; a socket whose send fails is forgotten. */
export interface Audience {
  each(send: (ws: WebSocket, attachment: SocketAttachment) => boolean): void;
}

/** A message as one reader sees it (its files' links are signed for them); null: no one in particular. */
export type MessageViewFor = (m: StoredMessage, viewer: string | null) => Message;

/** Whether a message's view differs per reader: it shows files, whose links name the reader. */
const hasFiles = (m: StoredMessage): boolean => !m.deletedAt && (m.attachments?.length ?? 0) > 0;

interface GroupEvent {
  from: WebSocket | null;
  /** The `message` event for everyone else; null for a clientId resend (nothing new to tell). */
  message: string | null;
  /** The `ack` for the socket that sent it; null for a REST send. */
  ack: string | null;
}

/**
 * What each socket receives of a committed group: its own acks in place of its own messages, and
 * everyone else's messages. Each event is serialized once (once per reader in a group with files,
 * whose links are signed per reader). A socket that asked for `?batch=1` gets the whole group in
 * one array frame: one send per socket per group instead of one per message (the runtime's send
 * is most of a busy room's CPU). These sends leave only once the commit is durable: the output
 * gate holds them.
 */
export function fanOutGroup(audience: Audience, group: CommittedGroup, view: MessageViewFor): void {
  if (group.sends.length === 0) return;
  const personal = group.sends.some((s) => hasFiles(s.message));
  const senders = new Set(group.sends.map((s) => s.from));
  // Per reader (one entry for everyone when no message shows files): the events, and the frame of
  // every batch socket that sent nothing in this group, built once, on first use.
  const readers = new Map<string, { events: GroupEvent[]; common: string | null }>();
  const readerOf = (userId: string) => {
    const key = personal ? userId : "";
    let reader = readers.get(key);
    if (!reader) {
      reader = { events: groupEvents(group, (m) => view(m, personal ? userId : null)), common: null };
      readers.set(key, reader);
    }
    return reader;
  };
  audience.each((ws, a) => {
    const reader = readerOf(a.userId);
    if (!a.batch) {
      for (const e of reader.events) {
        const data = e.from === ws ? e.ack : e.message;
        if (data !== null && !safeSend(ws, data)) return false;
      }
      return true;
    }
    if (senders.has(ws)) return sendFrame(ws, framesFor(reader.events, ws));
    reader.common ??= joinFrame(framesFor(reader.events, null));
    return reader.common === "" || safeSend(ws, reader.common);
  });
}

function groupEvents(group: CommittedGroup, view: (m: StoredMessage) => Message): GroupEvent[] {
  return group.sends.map((s) => {
    // The message is serialized once and shared by its two events (RoomEvent's `message` and `ack`).
    const message = JSON.stringify(view(s.message));
    return {
      from: s.from,
      message: s.created ? `{"type":"message","message":${message}}` : null,
      ack: s.from ? `{"type":"ack","clientId":${JSON.stringify(s.clientId)},"message":${message}}` : null,
    };
  });
}

/**
 * An edit or a deletion to every socket: serialized once, or once per reader when the message
 * shows files.
 */
export function broadcastChange(
  audience: Audience,
  type: "message.updated" | "message.deleted",
  m: StoredMessage,
  view: MessageViewFor,
): void {
  const personal = hasFiles(m);
  const frames = new Map<string, string>();
  audience.each((ws, a) => {
    const key = personal ? a.userId : "";
    let data = frames.get(key);
    if (data === undefined) {
      data = JSON.stringify({ type, message: view(m, personal ? a.userId : null) } satisfies RoomEvent);
      frames.set(key, data);
    }
    return safeSend(ws, data);
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
 * The `message` events of a reconnect's replay, serialized, oldest first: stopped before the one
 * that would take them over `maxBytes` (REPLAY_MAX_BYTES; the first always goes), so a socket's
 * replay is bounded in bytes as well as in messages. `lastSeq`: the last one replayed.
 */
export function replayEvents(
  missed: readonly StoredMessage[],
  view: (m: StoredMessage) => Message,
  maxBytes: number,
): { events: string[]; lastSeq: number | null } {
  const events: string[] = [];
  let bytes = 0;
  let lastSeq: number | null = null;
  for (const m of missed) {
    const event = JSON.stringify({ type: "message", message: view(m) } satisfies RoomEvent);
    bytes += utf8Length(event);
    if (events.length > 0 && bytes > maxBytes) break;
    events.push(event);
    lastSeq = m.seq;
  }
  return { events, lastSeq };
}

/**
 * What a new socket receives before anything else: `ready`, then (with `since`) the replay: one
 * array frame for a `?batch=1` socket (a tab reopening in a busy room), else one frame each.
 */
export function sendWelcome(
  ws: WebSocket,
  batch: boolean,
  ready: Extract<RoomEvent, { type: "ready" }>,
  replay: readonly string[],
): void {
  safeSend(ws, JSON.stringify(ready));
  if (batch) sendFrame(ws, [...replay]);
  else for (const e of replay) safeSend(ws, e);
}

/** An `error` event for one socket: a frame refused (with its clientId, for a send) or failed. */
export function sendError(ws: WebSocket, code: ErrorCode, message: string, clientId?: string): void {
  const event: RoomEvent =
    clientId === undefined ? { type: "error", code, message } : { type: "error", code, message, clientId };
  safeSend(ws, JSON.stringify(event));
}
