import { ApiError } from "./api";
import { type Session, loadSession, tokenTimes } from "./session";

/**
 * Renews the session's token before it expires, so a signed-in user stays signed in as long as
 * they come back now and then: once half of a token's lifetime has passed (checked on a timer, when
 * the tab becomes visible and when the network returns), the token is replaced.
 *
 * - A "password" session asks POST /api/auth/refresh (it works until SESSION_MAX_SECONDS after the
 *   sign-in; then the next 401 signs out).
 * - A "host" session holds the identity provider's token, which only the embedding application can
 *   renew: it asks the host page (HostBridge) every minute until a new token arrives or the old one
 *   expires.
 *
 * Tabs share the session (localStorage): before asking the server, a tab adopts a newer token that
 * another tab stored, and each tab's moment is jittered, so tabs rarely renew at once (when they do,
 * both tokens are valid).
 */

const RETRY_MS = 30_000;
const HOST_ASK_EVERY_MS = 60_000;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RenewalDeps {
  current(): Session | null;
  refresh(): Promise<Session>;
  /** Posts a token request to the embedding page; false when the page is not embedded. */
  askHost(): boolean;
  /** A new token for the same user: store it and move the sockets over. */
  adopt(session: Session): void;
}

export class TokenRenewal {
  private timer: number | undefined;
  private renewing = false;
  private readonly jitter = Math.random() * 0.1;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly deps: RenewalDeps) {}

  start(): void {
    const check = () => this.check();
    const onVisible = () => {
      if (document.visibilityState === "visible") check();
    };
    addEventListener("online", check);
    document.addEventListener("visibilitychange", onVisible);
    this.cleanups.push(
      () => removeEventListener("online", check),
      () => document.removeEventListener("visibilitychange", onVisible),
    );
    this.check();
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /** Renews now if the token is past its renewal point, or plans the moment it will be. */
  check(): void {
    clearTimeout(this.timer);
    const session = this.deps.current();
    const times = session ? tokenTimes(session.token) : null;
    if (!session || !times) return;
    const lifetime = Math.max(0, times.expiresAt - times.issuedAt);
    const renewAt = (times.issuedAt + lifetime * (0.5 - this.jitter)) * 1000;
    const wait = renewAt - Date.now();
    if (wait <= 0) void this.renew(session);
    else this.later(wait);
  }

  private later(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.min(ms, MAX_TIMER_MS));
  }

  private async renew(session: Session): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const stored = loadSession();
      if (stored && stored.user.id === session.user.id && isLater(stored.token, session.token)) {
        this.deps.adopt(stored); // another tab renewed it
      } else if (session.source === "host") {
        if (this.deps.askHost()) this.later(HOST_ASK_EVERY_MS);
      } else {
        this.deps.adopt(await this.deps.refresh());
      }
    } catch (err) {
      // 401: the Api signs out. 403: not ours to renew (a provider's token without a host page to
      // ask): it runs out, and the 401 after that signs out with a notice.
      if (!(err instanceof ApiError && (err.status === 401 || err.status === 403))) this.later(RETRY_MS);
    } finally {
      this.renewing = false;
    }
  }
}

function isLater(a: string, b: string): boolean {
  return (tokenTimes(a)?.expiresAt ?? 0) > (tokenTimes(b)?.expiresAt ?? 0);
}
