import { h } from "../dom";

/** Someone's indicator disappears if it is not renewed within this (the server throttles renewals to 2 s). */
const TYPING_TTL_MS = 6000;

/** "Grace is typing…" under the messages, one timer per person. */
export class TypingIndicator {
  readonly el = h("div", { class: "typing", "aria-live": "polite" });
  private readonly typing = new Map<string, number>();

  constructor(private readonly nameOf: (userId: string) => string) {}

  set(userId: string, active: boolean): void {
    clearTimeout(this.typing.get(userId));
    if (active)
      this.typing.set(
        userId,
        setTimeout(() => this.set(userId, false), TYPING_TTL_MS),
      );
    else if (!this.typing.delete(userId)) return;
    this.render();
  }

  clear(): void {
    for (const timer of this.typing.values()) clearTimeout(timer);
    this.typing.clear();
    this.render();
  }

  private render(): void {
    const names = [...this.typing.keys()].map((id) => this.nameOf(id));
    this.el.replaceChildren();
    if (names.length === 0) return;
    const who =
      names.length === 1
        ? `${names[0]} is`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are`
          : "Several people are";
    this.el.append(
      h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      `${who} typing…`,
    );
  }
}
