import * as z from "zod";
import { parseFrame } from "../protocol/frames";
import { MeSchema } from "../protocol/models";

/**
 * The signed-in user and their token, kept in sessionStorage: it lives as long as the tab, each tab
 * signs in on its own, and nothing outlasts closing the browser.
 */

const KEY = "edge-chat.session";
const StoredSchema = z.object({ token: z.string().min(1), user: MeSchema });

export type Session = z.infer<typeof StoredSchema>;

export function loadSession(): Session | null {
  try {
    const text = sessionStorage.getItem(KEY);
    return text ? parseFrame(StoredSchema, text) : null;
  } catch {
    return null; // storage disabled
  }
}

export function saveSession(session: Session): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    // Storage full or disabled: the session still works until the tab reloads.
  }
}

export function clearSession(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
