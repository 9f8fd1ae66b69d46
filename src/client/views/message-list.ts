import type { Message, Quote, User } from "../../protocol/models";
import { h, iconButton, onClick } from "../dom";
import { clockTime, dayLabel, fullName, fullTime, sameDay } from "../format";
import type { PendingMessage } from "../state/thread";
import { renderAttachments } from "./attachments";
import { userAvatar } from "./avatar";
import { openReactionPicker, renderQuote, renderReactions } from "./message-extras";

/**
 * The scrolling list of a conversation: one row per seq (rows are replaced in place on edit and
 * delete, never duplicated), grouped by sender and day, own messages still in flight at the bottom.
 * Bodies are text nodes; only http(s) links become anchors, built from parsed URLs.
 */

export interface MessageListHandlers {
  onEdit(message: Message): void;
  onDelete(message: Message): void;
  onReply(message: Message): void;
  /** Adds (`active`) or takes back my reaction. */
  onReact(message: Message, emoji: string, active: boolean): void;
  /** A reply's quote was clicked: show its original (loading older pages if needed). */
  onJump(quote: Quote): void;
  /** A picture of the message did not load (its link may have expired). */
  onStaleFile(message: Message): void;
  /** The emoji I reacted with on a message (they show pressed). */
  myReactions(seq: number): ReadonlySet<string>;
  /** A person's name or picture was clicked. */
  onPerson(user: User): void;
  onRetry(pending: PendingMessage): void;
  onDiscard(pending: PendingMessage): void;
  onNearTop(): void;
  onScrolledToBottom(): void;
}

/** Consecutive messages of one sender within this window share one header. */
const GROUP_WINDOW_MS = 5 * 60_000;
const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 300;

export class MessageList {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly pendingList: HTMLOListElement;
  private readonly jump: HTMLButtonElement;
  private readonly scroller: HTMLElement;
  private readonly loader: HTMLElement;
  private readonly rows = new Map<number, { li: HTMLLIElement; message: Message }>();
  private statusSeq: number | null = null;
  private unreadBelow = 0;
  /** The reader is at the newest message: growth below (new rows, the composer, a status) keeps them there. */
  private stuck = true;

  constructor(
    private readonly meId: string,
    private readonly handlers: MessageListHandlers,
  ) {
    this.list = h("ol", { class: "messages", "aria-label": "Messages", role: "log", "aria-live": "polite" });
    this.pendingList = h("ol", { class: "messages pending", "aria-label": "Messages being sent" });
    this.jump = h("button", {
      type: "button",
      class: "jump",
      hidden: true,
      "aria-label": "Jump to the latest message",
    });
    onClick(this.jump, () => this.scrollToBottom(true));
    this.loader = h("div", { class: "loader", role: "status", hidden: true }, "Loading earlier messages…");
    this.scroller = h("div", { class: "scroller" }, this.loader, this.list, this.pendingList);
    this.el = h("div", { class: "message-area" }, this.scroller, this.jump);
    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    const stick = new ResizeObserver(() => {
      if (this.stuck) this.scroller.scrollTop = this.scroller.scrollHeight;
    });
    for (const el of [this.scroller, this.list, this.pendingList]) stick.observe(el);
  }

  setLoading(loading: boolean): void {
    this.loader.hidden = !loading;
  }

  /** Whether everything fits without scrolling (so scrolling up cannot ask for older pages). */
  fitsWithoutScrolling(): boolean {
    return this.scroller.scrollHeight <= this.scroller.clientHeight;
  }

  isNearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(smooth = false): void {
    const s = this.scroller;
    s.scrollTo({ top: s.scrollHeight, behavior: smooth ? "smooth" : "instant" });
    this.stuck = true;
    this.unreadBelow = 0;
    this.updateJump();
  }

  /** Runs a change above the viewport (older messages) without moving what the reader sees. */
  keepPosition(change: () => void): void {
    const s = this.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    change();
    s.scrollTop = s.scrollHeight - fromBottom;
  }

  /** Adds or replaces a confirmed message's row. */
  upsert(message: Message): void {
    const existing = this.rows.get(message.seq);
    const li = this.renderRow(message);
    if (existing) {
      existing.li.replaceWith(li);
    } else {
      const next = this.nextRow(message.seq);
      this.list.insertBefore(li, next?.li ?? null);
    }
    this.rows.set(message.seq, { li, message });
    this.regroup(message.seq);
    const after = this.nextRow(message.seq);
    if (after) this.regroup(after.message.seq);
  }

  /** Scrolls to a shown message and flashes it; false when it is not shown (not loaded yet). */
  reveal(seq: number): boolean {
    const row = this.rows.get(seq);
    if (!row) return false;
    this.stuck = false;
    // Not smooth: the first steps of a smooth scroll are still near the bottom, where the list
    // sticks (a resize meanwhile would take the reader back down).
    row.li.scrollIntoView({ block: "center", behavior: "instant" });
    row.li.classList.remove("flash");
    // Restart the animation when the same message is revealed twice in a row.
    void row.li.offsetWidth;
    row.li.classList.add("flash");
    setTimeout(() => row.li.classList.remove("flash"), 1600);
    return true;
  }

  /** Counts a message that arrived while the reader was scrolled up. */
  noteUnseen(): void {
    this.unreadBelow++;
    this.updateJump();
  }

  setPending(pending: PendingMessage[]): void {
    this.pendingList.replaceChildren(...pending.map((p) => this.renderPending(p)));
  }

  /** "Sent" or "Seen by …" under the message `seq` (my newest), and nowhere else. */
  setStatus(seq: number | null, seenBy: User[]): void {
    if (this.statusSeq !== null) this.rows.get(this.statusSeq)?.li.querySelector(".status")?.remove();
    this.statusSeq = seq;
    const row = seq === null ? undefined : this.rows.get(seq);
    if (!row || row.message.deletedAt) return;
    const [first] = seenBy;
    const text = !first
      ? "Sent"
      : seenBy.length === 1
        ? `Seen by ${first.firstName || fullName(first)}`
        : `Seen by ${seenBy.length}`;
    const status = h(
      "div",
      { class: `status${first ? " seen" : ""}`, "data-status": first ? "seen" : "sent" },
      text,
    );
    row.li.querySelector(".msg-col")?.appendChild(status);
  }

  /** A "New messages" line above the first message after `lastReadSeq`. */
  markUnreadAfter(lastReadSeq: number): void {
    const first = [...this.rows.values()]
      .filter((r) => r.message.seq > lastReadSeq && r.message.sender?.id !== this.meId)
      .sort((a, b) => a.message.seq - b.message.seq)[0];
    if (!first) return;
    this.list.querySelector(".unread-divider")?.remove();
    // Inside the row, below its day line: "Today" first, then "New messages".
    first.li.insertBefore(
      h("div", { class: "unread-divider", role: "separator" }, h("span", null, "New messages")),
      first.li.querySelector(".row"),
    );
  }

  private nextRow(seq: number): { li: HTMLLIElement; message: Message } | undefined {
    let best: { li: HTMLLIElement; message: Message } | undefined;
    for (const [s, row] of this.rows) if (s > seq && (!best || s < best.message.seq)) best = row;
    return best;
  }

  private prevMessage(seq: number): Message | undefined {
    let best: Message | undefined;
    for (const [s, row] of this.rows) if (s < seq && (!best || s > best.seq)) best = row.message;
    return best;
  }

  /** Shows the day line and the sender header only where they change. */
  private regroup(seq: number): void {
    const row = this.rows.get(seq);
    if (!row) return;
    const prev = this.prevMessage(seq);
    const m = row.message;
    const newDay = !prev || !sameDay(prev.createdAt, m.createdAt);
    // System messages stand alone: they have no sender to group under, and break a sender's run.
    const grouped =
      !newDay &&
      prev !== undefined &&
      prev.sender !== null &&
      prev.sender.id === m.sender?.id &&
      Date.parse(m.createdAt) - Date.parse(prev.createdAt) < GROUP_WINDOW_MS;
    row.li.classList.toggle("new-day", newDay);
    row.li.classList.toggle("first", !grouped);
  }

  private renderRow(m: Message): HTMLLIElement {
    const { sender } = m;
    if (sender === null) return this.renderSystemRow(m);
    const own = sender.id === this.meId;
    const deleted = m.deletedAt !== null;
    const body = h("div", { class: "bubble" });
    if (m.replyTo && !deleted) body.append(renderQuote(m.replyTo, this.meId, (q) => this.handlers.onJump(q)));
    if (deleted) body.append(deletedBody());
    else if (m.body || m.attachments.length === 0) body.append(renderBody(m.body));
    const files = deleted ? null : renderAttachments(m.attachments, () => this.handlers.onStaleFile(m));
    if (files) body.append(files);
    if (m.editedAt && !deleted)
      body.append(h("span", { class: "edited", title: `Edited ${fullTime(m.editedAt)}` }, " (edited)"));
    const name = h("button", { type: "button", class: "name" }, own ? "You" : fullName(sender));
    onClick(name, () => this.handlers.onPerson(sender));
    const meta = h("div", { class: "meta" }, name, sentAt(m));
    const mine = this.handlers.myReactions(m.seq);
    const react = (emoji: string, active: boolean) => this.handlers.onReact(m, emoji, active);
    const col = h("div", { class: "msg-col" }, meta, body, renderReactions(m, mine, react));
    const avatar = own ? null : userAvatar(sender, "sm");
    if (avatar) onClick(avatar, () => this.handlers.onPerson(sender));
    const row = h("div", { class: "row" }, avatar, col);
    const li = h(
      "li",
      { class: `msg${own ? " own" : ""}${deleted ? " is-deleted" : ""}`, "data-seq": m.seq, "data-id": m.id },
      dayLine(m),
      row,
    );
    if (deleted) return li;
    const reply = iconButton("reply", "Reply");
    const smile = iconButton("smile", "React");
    onClick(reply, () => this.handlers.onReply(m));
    onClick(smile, () => openReactionPicker(smile, mine, react));
    const actions = h("div", { class: "actions" }, smile, reply);
    if (own) {
      const edit = iconButton("edit", "Edit message");
      const del = iconButton("trash", "Delete message");
      onClick(edit, () => this.handlers.onEdit(m));
      onClick(del, () => this.handlers.onDelete(m));
      actions.append(edit, del);
      row.prepend(actions);
    } else {
      row.append(actions);
    }
    // Touch screens have no hover: a tap on the bubble shows the actions.
    onClick(body, () => li.classList.toggle("show-actions"));
    return li;
  }

  /** The quote of a message still sending: the original, if it is shown here. */
  private pendingQuote(p: PendingMessage): HTMLElement | null {
    const original =
      p.replyTo === undefined ? undefined : [...this.rows.values()].find((r) => r.message.id === p.replyTo);
    if (!original) return null;
    const { id, seq, sender, body, deletedAt } = original.message;
    return renderQuote({ id, seq, sender, body, deletedAt }, this.meId, (q) => this.handlers.onJump(q));
  }

  /**
   * A system message (the host application's, through the server API): centred and muted, no
   * avatar, no name, no actions; nobody can edit it.
   */
  private renderSystemRow(m: Message): HTMLLIElement {
    const deleted = m.deletedAt !== null;
    const body = deleted ? deletedBody() : renderBody(m.body);
    return h(
      "li",
      { class: "msg system first", "data-seq": m.seq, "data-id": m.id, "data-system": "true" },
      dayLine(m),
      h("div", { class: "row" }, h("div", { class: "system-note" }, body, sentAt(m))),
    );
  }

  private renderPending(p: PendingMessage): HTMLLIElement {
    const status = p.error
      ? h("div", { class: "status failed", role: "alert" }, `Not sent: ${p.error} `)
      : h("div", { class: "status", "data-status": "sending" }, "Sending…");
    if (p.error) {
      const retry = h("button", { type: "button", class: "link" }, "Retry");
      const discard = h("button", { type: "button", class: "link" }, "Discard");
      onClick(retry, () => this.handlers.onRetry(p));
      onClick(discard, () => this.handlers.onDiscard(p));
      status.append(retry, " · ", discard);
    }
    return h(
      "li",
      { class: "msg own first pending-msg", "data-client-id": p.clientId },
      h(
        "div",
        { class: "row" },
        h(
          "div",
          { class: "msg-col" },
          h(
            "div",
            { class: "bubble" },
            this.pendingQuote(p),
            p.body ? renderBody(p.body) : null,
            renderAttachments(p.attachments ?? []),
          ),
          status,
        ),
      ),
    );
  }

  private onScroll(): void {
    const s = this.scroller;
    this.stuck = this.isNearBottom();
    if (s.scrollTop < NEAR_TOP_PX) this.handlers.onNearTop();
    if (this.isNearBottom()) {
      this.unreadBelow = 0;
      this.handlers.onScrolledToBottom();
    }
    this.updateJump();
  }

  private updateJump(): void {
    const show = !this.isNearBottom();
    this.jump.hidden = !show;
    this.jump.textContent = this.unreadBelow > 0 ? `${this.unreadBelow} new ↓` : "↓";
  }
}

/** The day line above a message (shown where the day changes, see regroup). */
const dayLine = (m: Message) =>
  h("div", { class: "day", role: "separator" }, h("span", null, dayLabel(m.createdAt)));

const sentAt = (m: Message) =>
  h("time", { datetime: m.createdAt, title: fullTime(m.createdAt) }, clockTime(m.createdAt));

const deletedBody = () => h("span", { class: "body deleted" }, "This message was deleted");

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/gi;

/** Text with its http(s) links as anchors; everything else stays a text node. */
export function renderBody(text: string): HTMLElement {
  const span = h("span", { class: "body" });
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const index = match.index;
    let url: URL;
    try {
      url = new URL(match[0]);
    } catch {
      continue;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") continue;
    span.append(text.slice(last, index));
    span.append(
      h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow ugc" }, match[0]),
    );
    last = index + match[0].length;
  }
  span.append(text.slice(last));
  return span;
}
