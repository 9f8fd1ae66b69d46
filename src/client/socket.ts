import { CloseCode } from "../protocol/close-codes";
import type { ClientFrame } from "../protocol/frames";
import { PING, PONG, type SafeParser, parseFrames } from "../protocol/parse";

/**
 * A WebSocket that stays connected: it reconnects with exponential backoff and jitter, at once when
 * the browser comes back online or the tab becomes visible again, and notices a dead connection
 * with a ping that the server's runtime answers without waking the object. Each attempt builds its
 * URL afresh (with a fresh single-use ticket), so a conversation reconnects with `since` = the last
 * message it holds. A socket closed 4401 (its token expired) reconnects like any other: the ticket
 * request decides whether the session is still good (a 401 there signs out). One closed 4429 (the
 * user opened too many elsewhere) waits for the tab to become visible again. When the token is
 * renewed, `rollover` opens the next socket before closing the current one.
 */

export type SocketState = "connecting" | "open" | "waiting" | "offline" | "closed";

export interface LiveSocketOptions<E> {
  /** The URL of the next attempt; may fetch a fresh credential first (a socket ticket). */
  url: () => string | Promise<string>;
  schema: SafeParser<E>;
  onEvent: (event: E) => void;
  onState?: (state: SocketState, retryInMs: number) => void;
  /** The server closed with a code that retrying cannot fix (4403: not a participant). */
  onFatal?: (code: number) => void;
  /**
   * The socket (or its ticket request) failed this many times in a row: a 404 upgrade looks like a
   * network error to the page.
   */
  onUnreachable?: (failures: number) => void;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 8_000;
/** A connection that lasted this long counts as healthy: the next drop retries quickly again. */
const STABLE_MS = 5_000;

export class LiveSocket<E> {
  private ws: WebSocket | null = null;
  /** The socket being replaced by `rollover`: it still delivers until the new one speaks. */
  private retiring: WebSocket | null = null;
  /** A credential is being fetched for the next socket. */
  private opening = false;
  /** Counts connection attempts, so a late ticket for an abandoned attempt opens nothing. */
  private attemptId = 0;
  private attempt = 0;
  private failures = 0;
  private stopped = true;
  private openedAt = 0;
  private lastFrameAt = 0;
  private retryTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private state: SocketState = "closed";
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly options: LiveSocketOptions<E>) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get currentState(): SocketState {
    return this.state;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const listen = <K extends keyof WindowEventMap>(type: K, fn: () => void) => {
      addEventListener(type, fn);
      this.cleanups.push(() => removeEventListener(type, fn));
    };
    listen("offline", () => this.goOffline());
    listen("online", () => this.reconnectNow());
    const onVisible = () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    };
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(() => document.removeEventListener("visibilitychange", onVisible));
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.clearTimers();
    this.opening = false;
    this.attemptId++;
    this.closeRetiring();
    this.drop("closed by the client");
    this.setState("closed");
  }

  /** Sends a frame if the socket is open; false when it is not (the caller queues or retries). */
  send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Connects now unless a socket is open or opening (after coming online, or on demand). */
  reconnectNow(): void {
    if (this.stopped || this.ws || this.opening) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }

  /**
   * Replaces an open socket by one opened with a fresh credential (after a token renewal, so the old
   * one is not closed 4401 when the old token expires). The old socket keeps delivering until the
   * new one sends its first frame; what both deliver is deduplicated by the caller (by seq).
   */
  rollover(): void {
    const ws = this.ws;
    if (this.stopped || this.opening || !ws || ws.readyState !== WebSocket.OPEN) return;
    this.closeRetiring();
    this.retiring = ws;
    this.ws = null;
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    // navigator.onLine is only a hint (it can be false on a machine with loopback only, where a
    // local server is still reachable): try anyway, and show "offline" rather than "connecting".
    // During a rollover the old socket is still live: nothing to show.
    if (!this.retiring) this.setState(navigator.onLine ? "connecting" : "offline");
    const attempt = ++this.attemptId;
    this.opening = true;
    Promise.resolve()
      .then(() => this.options.url())
      .then(
        (url) => {
          if (this.stopped || attempt !== this.attemptId) return;
          this.opening = false;
          this.open(url);
        },
        () => {
          if (this.stopped || attempt !== this.attemptId) return;
          this.opening = false;
          this.failures++;
          this.options.onUnreachable?.(this.failures);
          this.scheduleRetry();
        },
      );
  }

  private open(url: string): void {
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      opened = true;
      this.failures = 0;
      this.openedAt = Date.now();
      this.lastFrameAt = Date.now();
      this.setState("open");
      this.schedulePing();
    });
    ws.addEventListener("message", (event: MessageEvent<unknown>) => {
      if (this.ws !== ws && this.retiring !== ws) return;
      if (this.ws === ws) {
        // The new socket speaks: the one it replaces can go.
        this.closeRetiring();
        this.lastFrameAt = Date.now();
        clearTimeout(this.pongTimer);
      }
      if (typeof event.data !== "string" || event.data === PONG) return;
      const parsed = parseFrames(this.options.schema, event.data);
      if (parsed === null) {
        console.warn("chat: ignoring an unexpected frame", event.data.slice(0, 200));
        return;
      }
      for (const e of parsed) this.options.onEvent(e);
    });
    ws.addEventListener("close", (event) => {
      if (this.retiring === ws) this.retiring = null;
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (this.stopped) return;
      if (event.code === CloseCode.notParticipant) {
        this.stopped = true;
        this.setState("closed");
        this.options.onFatal?.(event.code);
        return;
      }
      if (event.code === CloseCode.tooManySockets) {
        // A newer socket of this user (another tab) took this one's place. Retrying on a timer
        // would have the tabs take turns for ever; the user coming back (visible, online) does it.
        this.setState("closed");
        return;
      }
      if (opened && Date.now() - this.openedAt > STABLE_MS) this.attempt = 0;
      if (!opened) {
        this.failures++;
        this.options.onUnreachable?.(this.failures);
      }
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling * (0.6 + Math.random() * 0.4));
    this.attempt++;
    // Offline, the "online" event reconnects at once; the timer is the fallback.
    if (navigator.onLine) this.setState("waiting", delay);
    else this.setState("offline");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** A ping every so often; no frame at all within PONG_WITHIN_MS means the connection is gone. */
  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const sentAt = Date.now();
      ws.send(PING);
      this.pongTimer = setTimeout(() => {
        if (this.ws === ws && this.lastFrameAt < sentAt) {
          this.drop("keep-alive timed out");
          this.scheduleRetry();
        }
      }, PONG_WITHIN_MS);
      this.schedulePing();
    }, PING_EVERY_MS);
  }

  /** The browser lost the network: the socket is as good as dead, so close it and wait. */
  private goOffline(): void {
    if (this.stopped) return;
    this.clearTimers();
    this.opening = false;
    this.attemptId++;
    this.closeRetiring();
    this.drop("offline");
    this.scheduleRetry();
  }

  private closeRetiring(): void {
    const old = this.retiring;
    this.retiring = null;
    try {
      old?.close(CloseCode.normal, "replaced");
    } catch {
      // already closing
    }
  }

  /** Forgets the current socket (its late events are ignored) and closes it. */
  private drop(reason: string): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    try {
      ws.close(CloseCode.normal, reason);
    } catch {
      // already closing
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  private setState(state: SocketState, retryInMs = 0): void {
    this.state = state;
    this.options.onState?.(state, retryInMs);
  }
}
