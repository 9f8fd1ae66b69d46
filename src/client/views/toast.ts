import { ApiError } from "../api";
import { h } from "../dom";

/** Short notices at the bottom of the screen ("Message deleted", "You are offline", errors). */

let region: HTMLElement | null = null;

function ensureRegion(): HTMLElement {
  if (!region || !region.isConnected) {
    region = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(region);
  }
  return region;
}

/**
 * A failed action as an error toast: the server's words (an ApiError), after `what` when given
 * ("Could not edit: …"); anything else is "That did not work".
 */
export function toastFailure(err: unknown, what?: string): void {
  const words = err instanceof ApiError ? err.message : "That did not work";
  toast(what ? `${what}: ${words}` : words, "error");
}

export function toast(text: string, kind: "info" | "error" = "info", ms = 4000): void {
  const el = h("div", { class: `toast ${kind}` }, text);
  ensureRegion().appendChild(el);
  setTimeout(() => {
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 300);
  }, ms);
}
