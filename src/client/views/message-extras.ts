import type { Message, Quote } from "../../protocol/models";
import { h, onClick } from "../dom";
import { fullName } from "../format";

/**
 * What a message row shows besides its text: the quote of the message it answers, its reactions
 * (mine pressed), and the small picker of the reaction button.
 */

/** The picker's choices: the reactions people use most. Any emoji sent by another client shows too. */
export const REACTION_CHOICES = ["👍", "❤️", "😂", "😮", "😢", "🎉"] as const;

/** A short name ("+1", "party_parrot") shows as :name:; an emoji as itself. */
export function emojiLabel(emoji: string): string {
  return /^[a-z0-9_+-]+$/.test(emoji) ? `:${emoji}:` : emoji;
}

/** The quote at the top of a reply: a button that jumps to the original. */
export function renderQuote(quote: Quote, meId: string, onJump: (quote: Quote) => void): HTMLButtonElement {
  // A system message has no sender: its quote says whose it is the way the list shows it.
  const who = quote.sender === null ? "System" : quote.sender.id === meId ? "You" : fullName(quote.sender);
  const button = h(
    "button",
    {
      type: "button",
      class: `quote${quote.deletedAt ? " deleted" : ""}`,
      "data-quote-seq": quote.seq,
      "aria-label": `Reply to ${who}: show the original message`,
    },
    h("span", { class: "quote-name" }, who),
    h(
      "span",
      { class: "quote-body" },
      quote.deletedAt ? "Original message deleted" : quote.body || "📎 Attachment",
    ),
  );
  onClick(button, (event) => {
    event.stopPropagation();
    onJump(quote);
  });
  return button;
}

/** The reactions under a message: one chip per emoji with its count; a click adds or takes back mine. */
export function renderReactions(
  message: Message,
  mine: ReadonlySet<string>,
  onToggle: (emoji: string, active: boolean) => void,
): HTMLElement | null {
  if (message.reactions.length === 0 || message.deletedAt) return null;
  return h(
    "div",
    { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...message.reactions.map(({ emoji, count }) => {
      const pressed = mine.has(emoji);
      const chip = h(
        "button",
        {
          type: "button",
          class: "reaction",
          "aria-pressed": pressed ? "true" : "false",
          "data-emoji": emoji,
          "aria-label": `${emojiLabel(emoji)} ${count}${pressed ? ", including you" : ""}`,
        },
        h("span", { class: "reaction-emoji" }, emojiLabel(emoji)),
        h("span", { class: "reaction-count" }, String(count)),
      );
      onClick(chip, (event) => {
        event.stopPropagation();
        onToggle(emoji, !pressed);
      });
      return chip;
    }),
  );
}

/**
 * The reaction picker of one message, shown next to its actions: a row of emoji; a pick (or
 * Escape, or a click elsewhere) closes it.
 */
export function openReactionPicker(
  anchor: HTMLElement,
  mine: ReadonlySet<string>,
  onPick: (emoji: string, active: boolean) => void,
): void {
  anchor.parentElement?.querySelector(".reaction-picker")?.remove();
  const picker = h("div", { class: "reaction-picker", role: "menu", "aria-label": "React" });
  const close = () => {
    picker.remove();
    document.removeEventListener("pointerdown", outside, true);
    document.removeEventListener("keydown", escape, true);
  };
  const outside = (event: Event) => {
    if (!(event.target instanceof Node) || !picker.contains(event.target)) close();
  };
  const escape = (event: KeyboardEvent) => {
    if (event.key === "Escape") close();
  };
  for (const emoji of REACTION_CHOICES) {
    const pressed = mine.has(emoji);
    const choice = h(
      "button",
      { type: "button", role: "menuitem", class: "pick", "aria-pressed": pressed ? "true" : "false" },
      emoji,
    );
    onClick(choice, (event) => {
      event.stopPropagation();
      close();
      onPick(emoji, !pressed);
    });
    picker.append(choice);
  }
  anchor.after(picker);
  document.addEventListener("pointerdown", outside, true);
  document.addEventListener("keydown", escape, true);
  picker.querySelector("button")?.focus();
}
