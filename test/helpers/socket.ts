import { exports } from "cloudflare:workers";
import { BASE } from "./api";

export interface TestSocket {
  ws: WebSocket;
  /** Every parsed event received so far, in order (array frames of `?batch=1` sockets flattened). */
  events: any[];
  /** Every frame as received, parsed (an array frame stays an array). */
  frames: any[];
  /** Resolves with the first event (received before or after the call) matching `match` that was not taken yet. */
  next(match?: (event: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits until `count` events match, returns them. */
  collect(match: (event: any) => boolean, count: number, timeoutMs?: number): Promise<any[]>;
  send(frame: unknown): void;
  sendRaw(data: string | ArrayBuffer): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a real WebSocket upgrade through the Worker's fetch handler. */
export async function openSocket(
  path: string,
  options: { token?: string; origin?: string; headers?: Record<string, string> } = {},
): Promise<TestSocket> {
  const url = new URL(BASE + path);
  if (options.token) url.searchParams.set("access_token", options.token);
  const headers = new Headers({ upgrade: "websocket", ...options.headers });
  if (options.origin) headers.set("origin", options.origin);
  const res = await exports.default.fetch(new Request(url, { headers }));
  const ws = res.webSocket;
  if (res.status !== 101 || !ws) {
    throw Object.assign(new Error(`upgrade refused: ${res.status} ${await res.text()}`), {
      status: res.status,
    });
  }
  ws.accept();
  const events: any[] = [];
  const taken = new Set<number>();
  const waiters = new Set<() => void>();
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const frames: any[] = [];
  ws.addEventListener("message", (e) => {
    const parsed = typeof e.data === "string" ? JSON.parse(e.data === "pong" ? '"pong"' : e.data) : e.data;
    frames.push(parsed);
    if (Array.isArray(parsed)) events.push(...parsed);
    else events.push(parsed);
    for (const w of Array.from(waiters)) w();
  });
  ws.addEventListener("close", (e) => {
    resolveClosed({ code: e.code, reason: e.reason });
    for (const w of Array.from(waiters)) w();
  });

  const collect = (match: (event: any) => boolean, count: number, timeoutMs = 5000): Promise<any[]> =>
    new Promise((resolve, reject) => {
      const found: number[] = [];
      const check = () => {
        for (let i = 0; i < events.length && found.length < count; i++) {
          if (taken.has(i) || found.includes(i)) continue;
          if (match(events[i])) found.push(i);
        }
        if (found.length >= count) {
          for (const i of found) taken.add(i);
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found.map((i) => events[i]));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`timed out waiting for ${count} events; got ${JSON.stringify(events).slice(0, 800)}`),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    ws,
    events,
    frames,
    collect,
    next: async (match = () => true, timeoutMs = 5000) => (await collect(match, 1, timeoutMs))[0],
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    closed,
    close: () => {
      try {
        ws.close(1000, "bye");
      } catch {
        // already closed
      }
    },
  };
}

export const ofType = (type: string) => (e: any) => e?.type === type;
