import type { Conversation, User } from "../../protocol/models";
import { h, svgIcon } from "../dom";
import { colorSlot, conversationName, fullName, initials, others } from "../format";

export type AvatarSize = "sm" | "md" | "lg";

/**
 * Initials on a colour from the id, with the picture on top when there is one. Decorative: the name
 * is always written next to it. Only https pictures load (the page's CSP allows no other), and a
 * picture that fails to load leaves the initials.
 */
export function avatar(key: string, name: string, url: string | null, size: AvatarSize = "md"): HTMLElement {
  const el = h(
    "span",
    { class: `avatar avatar-${size} c${colorSlot(key)}`, "aria-hidden": "true" },
    initials(name),
  );
  if (url?.startsWith("https://")) {
    const img = h("img", {
      src: url,
      alt: "",
      loading: "lazy",
      decoding: "async",
      referrerpolicy: "no-referrer",
    });
    img.addEventListener("error", () => img.remove(), { once: true });
    el.appendChild(img);
  }
  return el;
}

export function userAvatar(user: User, size: AvatarSize = "md"): HTMLElement {
  return avatar(user.id, fullName(user), user.avatarUrl, size);
}

export function conversationAvatar(
  conversation: Conversation,
  meId: string,
  size: AvatarSize = "md",
): HTMLElement {
  const people = others(conversation, meId);
  const [first] = people;
  if (conversation.kind === "direct" && first) return userAvatar(first, size);
  const el = avatar(conversation.id, conversationName(conversation, meId), null, size);
  el.classList.add("avatar-group");
  if (!conversation.title) {
    el.replaceChildren(svgIcon("group"));
  }
  return el;
}
