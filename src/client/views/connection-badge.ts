import { h } from "../dom";
import type { SocketState } from "../socket";

/** The visible state of a live connection: a coloured dot and a word, announced politely. */
export class ConnectionBadge {
  readonly el: HTMLElement;
  private readonly label: HTMLElement;
  private countdown: number | undefined;

  constructor(private readonly what: string) {
    this.label = h("span", { class: "conn-label" }, "Connecting…");
    this.el = h(
      "span",
      { class: "conn", role: "status", "data-state": "connecting", title: `${what}: connecting` },
      h("i", { class: "dot", "aria-hidden": "true" }),
      this.label,
    );
  }

  set(state: SocketState, retryInMs = 0): void {
    clearInterval(this.countdown);
    this.el.dataset.state = state;
    const text = (s: string) => {
      this.label.textContent = s;
      this.el.title = `${this.what}: ${s}`;
    };
    switch (state) {
      case "open":
        text("Live");
        break;
      case "connecting":
        text("Connecting…");
        break;
      case "offline":
        text("Offline");
        break;
      case "closed":
        text("Disconnected");
        break;
      case "waiting": {
        const until = Date.now() + retryInMs;
        const tick = () => text(`Reconnecting in ${Math.max(1, Math.ceil((until - Date.now()) / 1000))}s`);
        tick();
        this.countdown = setInterval(tick, 1000);
        break;
      }
    }
  }

  destroy(): void {
    clearInterval(this.countdown);
  }
}
