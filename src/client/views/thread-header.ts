import type { Conversation, Me } from "../../protocol/models";
import { h, iconButton, onClick, svgIcon } from "../dom";
import { conversationName, others } from "../format";
import type { SocketState } from "../socket";
import { conversationAvatar } from "./avatar";
import { ConnectionBadge } from "./connection-badge";

/**
 * A conversation's header: back (phone), picture, name, who is here, the socket's state, the mute
 * toggle, details.
 */
export class ThreadHeader {
  readonly el: HTMLElement;
  private readonly badge = new ConnectionBadge("Conversation");
  private readonly title = h("h2", { class: "thread-name", id: "thread-name" }, "Loading…");
  private readonly subtitle = h("p", { class: "thread-sub" });
  private readonly avatarSlot = h("span", { class: "avatar-slot" });
  private conversation: Conversation | null = null;
  private online = new Set<string>();
  private readonly mute: HTMLButtonElement;

  constructor(
    private readonly me: Me,
    onBack: () => void,
    onInfo: (conversation: Conversation) => void,
    onMute: (muted: boolean) => void,
  ) {
    const back = iconButton("back", "Back to conversations", { class: "back" });
    onClick(back, onBack);
    const info = iconButton("info", "Conversation details");
    onClick(info, () => this.conversation && onInfo(this.conversation));
    this.mute = iconButton("bell", "Mute notifications", { class: "mute", "aria-pressed": "false" });
    onClick(this.mute, () => this.conversation && onMute(!this.conversation.muted));
    this.el = h(
      "header",
      { class: "thread-header" },
      back,
      this.avatarSlot,
      h("div", { class: "thread-title" }, this.title, this.subtitle),
      this.badge.el,
      this.mute,
      info,
    );
  }

  get current(): Conversation | null {
    return this.conversation;
  }

  setConversation(conversation: Conversation): void {
    this.conversation = conversation;
    this.title.textContent = conversationName(conversation, this.me.id);
    this.avatarSlot.replaceChildren(conversationAvatar(conversation, this.me.id, "md"));
    this.render();
  }

  setProblem(title: string, detail: string): void {
    this.title.textContent = title;
    this.subtitle.textContent = detail;
  }

  setOnline(online: Set<string>): void {
    this.online = online;
    this.render();
  }

  setSocketState(state: SocketState, retryInMs: number): void {
    this.badge.set(state, retryInMs);
  }

  destroy(): void {
    this.badge.destroy();
  }

  /** Presence is per conversation: "online" means someone has this conversation open. */
  private render(): void {
    const c = this.conversation;
    if (!c) return;
    this.mute.setAttribute("aria-pressed", String(c.muted));
    const label = c.muted ? "Unmute notifications" : "Mute notifications";
    this.mute.setAttribute("aria-label", label);
    this.mute.title = label;
    this.mute.replaceChildren(svgIcon(c.muted ? "bellOff" : "bell"));
    const rest = others(c, this.me.id);
    if (c.kind === "direct") {
      const other = rest[0];
      const online = other !== undefined && this.online.has(other.id);
      this.subtitle.textContent = online ? "Online" : "Direct message";
      this.subtitle.classList.toggle("online", online);
    } else {
      const count = rest.filter((p) => p.id !== this.me.id && this.online.has(p.id)).length;
      this.subtitle.textContent = `${c.participantCount} members${count ? ` · ${count} online` : ""}`;
      this.subtitle.classList.toggle("online", count > 0);
    }
  }
}
