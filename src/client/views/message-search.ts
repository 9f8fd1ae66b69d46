import type { Me } from "../../protocol/models";
import type { SearchResult } from "../../protocol/responses";
import { snippetParts } from "../../protocol/snippet";
import type { Api } from "../api";
import { h, onClick } from "../dom";
import { conversationName, fullName, shortTime } from "../format";
import type { InboxStore } from "../state/inbox";

const DEBOUNCE_MS = 250;

export interface MessageSearchContext {
  api: Api;
  me: Me;
  inbox: InboxStore;
  /** Opens the conversation at this message. */
  open(conversationId: string, seq: number): void;
}

/**
 * The "Messages" half of the sidebar's search box: GET /api/search after a pause in typing, only
 * the answer to the latest text shown, "More results" pages on with the cursor. A result names its
 * conversation, its sender and time, and shows the snippet with the matches as <mark> elements
 * built from text nodes (the snippet is someone's message: it never becomes HTML).
 */
export class MessageSearch {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "found-messages", "aria-label": "Messages found" });
  private readonly status = h("p", { class: "hint", role: "status" });
  private readonly more = h("button", { type: "button", class: "link more", hidden: true }, "More results");
  private query = "";
  private cursor: string | null = null;
  /** Bumped by every change of the text: answers to an older one are dropped. */
  private ticket = 0;
  private timer: number | undefined;

  constructor(private readonly ctx: MessageSearchContext) {
    this.el = h(
      "section",
      { class: "message-results", hidden: true },
      h("h3", { class: "section-title" }, "Messages"),
      this.list,
      this.status,
      this.more,
    );
    onClick(this.more, () => void this.load(false));
  }

  /** The search box changed: search after a pause; an empty box clears the results. */
  update(text: string): void {
    clearTimeout(this.timer);
    this.ticket++;
    this.query = text.trim();
    if (!this.query) {
      this.el.hidden = true;
      this.list.replaceChildren();
      this.more.hidden = true;
      return;
    }
    this.timer = setTimeout(() => void this.load(true), DEBOUNCE_MS);
  }

  private async load(fresh: boolean): Promise<void> {
    const ticket = fresh ? ++this.ticket : this.ticket;
    this.el.hidden = false;
    this.more.hidden = true;
    this.status.textContent = "Searching…";
    try {
      const page = await this.ctx.api.searchMessages(this.query, { cursor: fresh ? null : this.cursor });
      if (ticket !== this.ticket) return;
      if (fresh) this.list.replaceChildren();
      for (const result of page.results) this.list.append(h("li", null, this.row(result)));
      this.cursor = page.nextCursor;
      this.more.hidden = page.nextCursor === null;
      this.status.textContent = this.list.childElementCount === 0 ? "No messages found." : "";
    } catch (err) {
      if (ticket !== this.ticket) return;
      this.status.textContent = err instanceof Error ? err.message : "Search failed";
    }
  }

  private row(result: SearchResult): HTMLAnchorElement {
    const { message, conversation } = result;
    const me = this.ctx.me.id;
    const known = this.ctx.inbox.get(conversation.id);
    const from = message.sender;
    const name =
      conversation.title ??
      (known
        ? conversationName(known, me)
        : conversation.kind === "direct" && from && from.id !== me
          ? fullName(from)
          : "Conversation");
    // A system message (the host application's) has no sender: its text stands alone.
    const sender =
      from === null
        ? ""
        : from.id === me
          ? "You: "
          : conversation.kind === "group"
            ? `${from.firstName || fullName(from)}: `
            : "";
    const snippet = h("span", { class: "found-snippet" }, sender);
    for (const part of snippetParts(result.snippet))
      snippet.append(part.match ? h("mark", null, part.text) : part.text);
    const link = h(
      "a",
      {
        class: "found",
        href: `#/c/${conversation.id}/m/${message.seq}`,
        "data-conversation-id": conversation.id,
        "data-seq": message.seq,
      },
      h(
        "span",
        { class: "conv-top" },
        h("span", { class: "conv-name" }, name),
        h("time", { class: "conv-time", datetime: message.createdAt }, shortTime(message.createdAt)),
      ),
      snippet,
    );
    // Also when the address already shows this message (a second click): open it again.
    onClick(link, (event) => {
      event.preventDefault();
      this.ctx.open(conversation.id, message.seq);
    });
    return link;
  }
}
