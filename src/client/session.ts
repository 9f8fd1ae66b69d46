import { MeSchema } from "../protocol/client-schemas";
import type { Me } from "../protocol/models";
import { parseFrame } from "../protocol/parse";
import { type Schema, enumOf, object, string, withDefault } from "../protocol/validate";

/**
 * The signed-in user and their token, kept in localStorage: every tab of this origin shares one
 * session, it survives closing the browser, and a sign-in, renewal or sign-out in one tab reaches
 * the others through the `storage` event. (Why localStorage and not a cookie: README, "Sessions".)
 *
 * `source` says who renews the token: "password" sessions (own accounts, and tokens the host's
 * backend minted with the server API) renew through POST /api/auth/refresh; "host" sessions hold
 * the identity provider's token that the embedding page handed over, and ask it for the next one.
 */

const KEY = "edge-chat.session";
export interface Session {
  token: string;
  user: Me;
  source: "password" | "host";
}

const StoredSchema: Schema<Session> = object({
  token: string(1),
  user: MeSchema,
  source: withDefault(enumOf(["password", "host"]), "password"),
});

function parse(text: string | null): Session | null {
  return text ? parseFrame(StoredSchema, text) : null;
}

export function loadSession(): Session | null {
  try {
    const stored = parse(localStorage.getItem(KEY));
    if (stored) return stored;
    // A session from before (kept per tab in sessionStorage) moves over once.
    const legacy = parse(sessionStorage.getItem(KEY));
    sessionStorage.removeItem(KEY);
    if (legacy) saveSession(legacy);
    return legacy;
  } catch {
    return null; // storage disabled
  }
}

export function saveSession(session: Session): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    // Storage full or disabled: the session still works in this tab until it reloads.
  }
}

export function clearSession(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

/** Calls `listener` when another tab signs in, renews or signs out (null). */
export function onOtherTab(listener: (session: Session | null) => void): () => void {
  const handler = (event: StorageEvent) => {
    if (event.key !== KEY && event.key !== null) return;
    listener(parse(event.newValue));
  };
  addEventListener("storage", handler);
  return () => removeEventListener("storage", handler);
}

/** A JWT's `iat` and `exp` (seconds), read without verifying: only to plan the renewal. */
export function tokenTimes(token: string): { issuedAt: number; expiresAt: number } | null {
  try {
    const part = token.split(".")[1] ?? "";
    const json: unknown = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
    const { exp, iat } = (json ?? {}) as { exp?: unknown; iat?: unknown };
    if (typeof exp !== "number") return null;
    return { issuedAt: typeof iat === "number" ? iat : exp - 3600, expiresAt: exp };
  } catch {
    return null;
  }
}
