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

export function toast(text: string, kind: "info" | "error" = "info", ms = 4000): void {
  const el = h("div", { class: `toast ${kind}` }, text);
  ensureRegion().appendChild(el);
  window.setTimeout(() => {
    el.classList.add("leaving");
    window.setTimeout(() => el.remove(), 300);
  }, ms);
}
