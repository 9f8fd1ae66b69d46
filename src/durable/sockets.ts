import { CloseCode } from "../protocol/close-codes";

/**
 * The socket code both objects share: the internal upgrade contract with the Worker, accepting and
 * closing sockets, the checks every frame passes, and the live set of sockets. The attachment
 * survives hibernation (it is stored with the socket), so nothing about a socket lives only in memory.
 */

/**
 * Headers the Worker sets on the internal WebSocket upgrade request to an object (clients cannot
 * reach an object directly): the verified caller, never the client's word for it.
 */
export const UPGRADE_HEADERS = {
  userId: "x-chat-user",
  tokenExp: "x-chat-token-exp",
} as const;

/** The caller of an internal upgrade request, as the Worker verified it. */
export function upgradeCaller(request: Request): { userId: string; tokenExp: number } {
  return {
    userId: request.headers.get(UPGRADE_HEADERS.userId) ?? "",
    tokenExp: Number(request.headers.get(UPGRADE_HEADERS.tokenExp)),
  };
}

export interface SocketAttachment {
  /** Namespaced so a socket accepted by other code is never mistaken for ours. */
  chat: 1;
  userId: string;
  /**
   * Token expiry, seconds since the epoch: the socket is closed with 4401 on its first frame after
   * it, or by the object's alarm (`closeExpired`) if it sends nothing (runtime-answered pings included).
   */
  tokenExp: number;
  /** The client asked for `?batch=1`: events committed together may arrive as one JSON array frame. */
  batch: boolean;
  /** When it was accepted (ms; unique within the object): the oldest goes first when a user has too many. */
  openedAt: number;
}

function readAttachment(ws: WebSocket): SocketAttachment | null {
  let value: unknown;
  try {
    value = ws.deserializeAttachment();
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const a = value as Partial<SocketAttachment>;
  if (a.chat !== 1 || typeof a.userId !== "string" || typeof a.tokenExp !== "number") return null;
  return {
    chat: 1,
    userId: a.userId,
    tokenExp: a.tokenExp,
    batch: a.batch === true,
    openedAt: typeof a.openedAt === "number" ? a.openedAt : 0,
  };
}

/**
 * Sends without throwing: getWebSockets() can return sockets that are already closing, and a send
 * on one of them throws. A failed send is not an error for anyone else in the room.
 */
export function safeSend(ws: WebSocket, data: string): boolean {
  try {
    ws.send(data);
    return true;
  } catch {
    return false;
  }
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed or closing: nothing left to do.
  }
}

/**
 * Accepts a hibernatable socket for a user: tagged with the user id, its attachment stored with it
 * and tracked in `sockets`. Returns the 101 response that hands the client end to the caller.
 */
export function acceptSocket(
  ctx: DurableObjectState,
  sockets: SocketSet,
  attachment: Omit<SocketAttachment, "chat" | "openedAt">,
): { server: WebSocket; response: Response } {
  const { 0: client, 1: server } = new WebSocketPair();
  const a: SocketAttachment = { chat: 1, ...attachment, openedAt: sockets.nextOpenedAt() };
  ctx.acceptWebSocket(server, [a.userId]);
  server.serializeAttachment(a);
  sockets.add(server, a);
  return { server, response: new Response(null, { status: 101, webSocket: client }) };
}

/** Closes a socket with a close code of API.md and forgets it; returns what it was. */
export function closeSocket(
  sockets: SocketSet,
  ws: WebSocket,
  code: number,
  reason: string,
): SocketAttachment | undefined {
  safeClose(ws, code, reason);
  return sockets.remove(ws);
}

/**
 * The checks every frame passes before it is read, the same on both objects: a frame over
 * MAX_FRAME_BYTES closes the socket with 1009, a frame after the token expired closes it with 4401.
 * Returns the socket's attachment when the frame may be read; null when it is not our socket or
 * it was closed (then `closed` is called with its attachment).
 */
export function admitFrame(
  sockets: SocketSet,
  ws: WebSocket,
  message: string | ArrayBuffer,
  maxFrameBytes: number,
  closed?: (attachment: SocketAttachment) => void,
): SocketAttachment | null {
  const attachment = sockets.get(ws);
  if (!attachment) return null; // not a socket this object accepted
  if (frameExceeds(message, maxFrameBytes)) {
    closeSocket(sockets, ws, CloseCode.frameTooLarge, `frames are limited to ${maxFrameBytes} bytes`);
  } else if (Date.now() / 1000 >= attachment.tokenExp) {
    closeSocket(sockets, ws, CloseCode.tokenInvalid, "token expired");
  } else {
    return attachment;
  }
  closed?.(attachment);
  return null;
}

/**
 * Completes the closing handshake. Runtimes from compatibility date 2026-04-07 reply by themselves,
 * but the one inside vitest-pool-workers left clients waiting ~10 s for the reply, so reply here
 * too; a second reply is refused by the runtime and ignored. 1005/1006 are not sendable codes.
 */
export function replyToClose(ws: WebSocket, code: number): void {
  safeClose(ws, code === 1005 || code === 1006 ? 1000 : code, "");
}

/**
 * Whether a frame's UTF-8 size is over `max` bytes. A string's UTF-8 size is between its UTF-16
 * length and three times it, so the encoder only runs for frames near the limit.
 */
function frameExceeds(message: string | ArrayBuffer, max: number): boolean {
  if (typeof message !== "string") return message.byteLength > max;
  if (message.length > max) return true;
  if (message.length * 3 <= max) return false;
  return new TextEncoder().encode(message).byteLength > max;
}

/** A live set of accepted sockets with their attachments, rebuilt from the runtime after a wake-up. */
export class SocketSet {
  private sockets: Map<WebSocket, SocketAttachment> | null = null;
  /** Open sockets per user, kept with the set so presence checks are O(1) in a crowded room. */
  private perUser = new Map<string, number>();
  /** The latest `openedAt` of a tracked socket: the next one is later, even within one millisecond. */
  private lastOpenedAt = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    /** Told when a socket is accepted ("open") and when one is gone ("close"), once each: the counters. */
    private readonly onChange: (change: "open" | "close") => void = () => undefined,
  ) {}

  private all(): Map<WebSocket, SocketAttachment> {
    if (!this.sockets) {
      this.sockets = new Map();
      this.perUser = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        const a = readAttachment(ws);
        if (a) this.track(ws, a);
      }
    }
    return this.sockets;
  }

  private track(ws: WebSocket, a: SocketAttachment): void {
    this.sockets?.set(ws, a);
    this.lastOpenedAt = Math.max(this.lastOpenedAt, a.openedAt);
    this.perUser.set(a.userId, (this.perUser.get(a.userId) ?? 0) + 1);
  }

  private untrack(ws: WebSocket): SocketAttachment | undefined {
    const a = this.sockets?.get(ws);
    if (!a) return undefined;
    this.sockets?.delete(ws);
    const left = (this.perUser.get(a.userId) ?? 1) - 1;
    if (left > 0) this.perUser.set(a.userId, left);
    else this.perUser.delete(a.userId);
    return a;
  }

  /** A socket just accepted (the rebuild after a wake-up may have found it already: tracked once). */
  add(ws: WebSocket, a: SocketAttachment): void {
    this.all();
    this.untrack(ws);
    this.track(ws, a);
    this.onChange("open");
  }

  remove(ws: WebSocket): SocketAttachment | undefined {
    this.all();
    const tracked = this.untrack(ws);
    if (tracked) this.onChange("close");
    return tracked ?? readAttachment(ws) ?? undefined;
  }

  get(ws: WebSocket): SocketAttachment | undefined {
    return this.all().get(ws) ?? readAttachment(ws) ?? undefined;
  }

  get size(): number {
    return this.all().size;
  }

  /** Calls `send` for every socket; a socket whose send fails is forgotten. */
  each(send: (ws: WebSocket, a: SocketAttachment) => boolean): void {
    for (const [ws, a] of this.all()) if (!send(ws, a)) this.untrack(ws);
  }

  countFor(userId: string): number {
    this.all();
    return this.perUser.get(userId) ?? 0;
  }

  /** The `openedAt` of a socket accepted now: after every tracked one's. */
  nextOpenedAt(): number {
    this.all();
    this.lastOpenedAt = Math.max(Date.now(), this.lastOpenedAt + 1);
    return this.lastOpenedAt;
  }

  /** The user's sockets other than their newest `keep`, oldest first (none while they have no more). */
  oldestBeyond(userId: string, keep: number): WebSocket[] {
    if (this.countFor(userId) <= keep) return [];
    const mine = [...this.all()].filter(([, a]) => a.userId === userId);
    mine.sort((x, y) => x[1].openedAt - y[1].openedAt);
    return mine.slice(0, mine.length - keep).map(([ws]) => ws);
  }

  onlineUsers(): string[] {
    this.all();
    return [...this.perUser.keys()];
  }

  /** Sends one serialized event to every socket, skipping `except` and (optionally) one user's sockets. */
  broadcast(data: string, options: { except?: WebSocket | undefined; exceptUser?: string } = {}): void {
    for (const [ws, a] of this.all()) {
      if (ws === options.except || a.userId === options.exceptUser) continue;
      if (!safeSend(ws, data)) this.untrack(ws);
    }
  }

  /**
   * When the next socket's token expires (milliseconds since the epoch), or null without sockets:
   * the object keeps its alarm no later than this, so an idle socket is closed on time.
   */
  nextExpiryMs(): number | null {
    let next: number | null = null;
    for (const a of this.all().values()) {
      if (Number.isFinite(a.tokenExp) && (next === null || a.tokenExp < next)) next = a.tokenExp;
    }
    return next === null ? null : next * 1000;
  }

  /** Closes with 4401 every socket whose token has expired at `now` (ms); returns what they were. */
  closeExpired(now: number): SocketAttachment[] {
    const closed: SocketAttachment[] = [];
    for (const [ws, a] of this.all()) {
      if (now / 1000 < a.tokenExp) continue;
      safeClose(ws, CloseCode.tokenInvalid, "token expired");
      this.untrack(ws);
      closed.push(a);
    }
    return closed;
  }

  closeUser(userId: string, code: number, reason: string): void {
    for (const [ws, a] of this.all()) {
      if (a.userId !== userId) continue;
      safeClose(ws, code, reason);
      this.untrack(ws);
    }
  }
}
