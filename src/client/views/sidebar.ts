import type { Conversation, Me, User } from "../../protocol/models";
import type { Api } from "../api";
import { h, iconButton, onClick, svgIcon } from "../dom";
import { conversationName, fullName, shortTime, snippet } from "../format";
import type { Notifications } from "../notifications";
import type { InboxStore } from "../state/inbox";
import { conversationAvatar, userAvatar } from "./avatar";
import { ConnectionBadge } from "./connection-badge";
import { MessageSearch } from "./message-search";
import { attachPeopleSearch, personRow } from "./people-search";
import { toast } from "./toast";

export interface SidebarContext {
  api: Api;
  me: Me;
  inbox: InboxStore;
  notifications: Notifications;
  openWith(user: User): void;
  /** Opens a conversation at one of its messages (a message search result). */
  openMessage(conversationId: string, seq: number): void;
  newGroup(): void;
  signOut(): void;
  /** My own profile (and the way to delete my account). */
  openMe(): void;
}

/**
 * The inbox: my profile and the live connection, a people search that opens direct conversations,
 * and the conversation list. Rows are keyed by id and moved only when the order changes, so a
 * focused row keeps its focus while badges update.
 */
export class Sidebar {
  readonly el: HTMLElement;
  readonly badge = new ConnectionBadge("Inbox");
  private readonly list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  private readonly results = h("div", { class: "search-results", hidden: true });
  private readonly people = h("div", { class: "people-results" });
  private readonly messages: MessageSearch;
  private readonly empty = h("div", { class: "empty-inbox", hidden: true });
  private readonly more = h(
    "button",
    { type: "button", class: "link more", hidden: true },
    "Load older conversations",
  );
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly search: HTMLInputElement;
  private activeId: string | null = null;

  constructor(private readonly ctx: SidebarContext) {
    const newGroup = iconButton("group", "New group");
    onClick(newGroup, () => ctx.newGroup());
    const bell = notificationsButton(ctx.notifications);
    const signOut = iconButton("logout", "Sign out");
    onClick(signOut, () => ctx.signOut());
    const meButton = h(
      "button",
      { type: "button", class: "me-button", "aria-label": "Your profile and account", title: "Your profile" },
      userAvatar(ctx.me, "md"),
    );
    onClick(meButton, () => ctx.openMe());
    const search = (this.search = h("input", {
      type: "search",
      class: "search-input",
      placeholder: "Search people and messages",
      "aria-label": "Find people by name or email, or messages by their words",
      autocomplete: "off",
      spellcheck: "false",
    }));
    // One box, two searches: people (their names) and messages (their words).
    this.messages = new MessageSearch({
      api: ctx.api,
      me: ctx.me,
      inbox: ctx.inbox,
      open: (id, seq) => ctx.openMessage(id, seq),
    });
    this.results.append(this.people, this.messages.el);
    attachPeopleSearch(search, ctx.api, (users, error) => this.showResults(users, error));
    search.addEventListener("input", () => this.messages.update(search.value));
    search.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        search.value = "";
        this.showResults(null, null);
        this.messages.update("");
      }
    });
    onClick(this.more, () => void ctx.inbox.loadMore());
    this.el = h(
      "aside",
      { class: "sidebar", "aria-label": "Inbox" },
      h(
        "header",
        { class: "sidebar-header" },
        meButton,
        h("div", { class: "me" }, h("span", { class: "me-name" }, fullName(ctx.me)), this.badge.el),
        bell,
        newGroup,
        signOut,
      ),
      h("div", { class: "search" }, svgIcon("search"), search),
      this.results,
      h(
        "nav",
        { class: "conversation-nav", "aria-label": "Conversations" },
        this.list,
        this.empty,
        this.more,
      ),
    );
    ctx.inbox.subscribe(() => this.render());
    this.render();
  }

  setActive(id: string | null): void {
    this.activeId = id;
    for (const [rowId, li] of this.rows) {
      const link = li.firstElementChild;
      if (link instanceof HTMLElement) {
        if (rowId === id) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    }
  }

  private render(): void {
    const conversations = this.ctx.inbox.list();
    const seen = new Set<string>();
    let cursor: ChildNode | null = this.list.firstChild;
    for (const c of conversations) {
      seen.add(c.id);
      let li = this.rows.get(c.id);
      if (!li) {
        li = h("li", null, h("a", { href: `#/c/${c.id}`, "data-conversation-id": c.id }));
        this.rows.set(c.id, li);
      }
      const link = li.firstElementChild;
      if (link instanceof HTMLAnchorElement) this.fillRow(link, c);
      if (li !== cursor) this.list.insertBefore(li, cursor);
      else cursor = cursor.nextSibling;
    }
    for (const [id, li] of this.rows) {
      if (seen.has(id)) continue;
      li.remove();
      this.rows.delete(id);
    }
    const { loaded, loadError } = this.ctx.inbox;
    this.empty.hidden = conversations.length > 0 || (!loaded && !loadError);
    this.empty.replaceChildren(svgIcon("chat"), h("p", null, loadError ?? "No conversations yet."));
    if (!loadError)
      this.empty.append(
        h("p", { class: "hint" }, "Find someone above to start chatting, or create a group."),
      );
    this.more.hidden = this.ctx.inbox.nextCursor === null;
  }

  /** Updates a row's link in place (the element stays, and with it any keyboard focus). */
  private fillRow(link: HTMLAnchorElement, c: Conversation): void {
    const me = this.ctx.me.id;
    const unread = this.ctx.inbox.unread(c);
    const last = c.lastMessage;
    link.className = `conv${unread > 0 ? " unread" : ""}`;
    if (c.id === this.activeId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
    link.replaceChildren(
      conversationAvatar(c, me, "lg"),
      h(
        "span",
        { class: "conv-main" },
        h(
          "span",
          { class: "conv-top" },
          h("span", { class: "conv-name" }, conversationName(c, me)),
          c.muted
            ? h(
                "span",
                { class: "conv-muted", title: "Muted" },
                svgIcon("bellOff"),
                h("span", { class: "sr-only" }, "muted"),
              )
            : null,
          h("time", { class: "conv-time", datetime: c.updatedAt }, shortTime(last?.createdAt ?? c.updatedAt)),
        ),
        h(
          "span",
          { class: "conv-bottom" },
          h("span", { class: `conv-snippet${last?.deletedAt ? " deleted" : ""}` }, snippet(last, me, c.kind)),
          unread > 0
            ? h(
                "span",
                { class: `unread-badge${c.muted ? " muted" : ""}`, "data-unread": unread },
                unread > 99 ? "99+" : String(unread),
                h("span", { class: "sr-only" }, " unread"),
              )
            : null,
        ),
      ),
    );
  }

  private showResults(users: User[] | null, error: string | null): void {
    this.results.hidden = users === null;
    this.el.classList.toggle("searching", users !== null);
    if (users === null) {
      this.people.replaceChildren();
      return;
    }
    const heading = h("h3", { class: "section-title" }, "People");
    if (error || users.length === 0) {
      this.people.replaceChildren(
        heading,
        h("p", { class: "hint" }, error ?? "Nobody found by that name or email."),
      );
      return;
    }
    const list = h("ul", { class: "people", "aria-label": "People found" });
    for (const user of users) {
      const row = personRow(user, "Message", { "aria-label": `Message ${fullName(user)}` });
      onClick(row, () => {
        this.search.value = "";
        this.showResults(null, null);
        this.messages.update("");
        this.ctx.openWith(user);
      });
      list.append(h("li", null, row));
    }
    this.people.replaceChildren(heading, list);
  }
}

/**
 * The moment to ask for notification permission: when the person asks for notifications, never on
 * load. Shown only while the browser has not been asked yet.
 */
function notificationsButton(notifications: Notifications): HTMLButtonElement {
  const button = iconButton("bell", "Turn on notifications", { class: "notify-button" });
  const render = () => {
    button.hidden = notifications.state !== "default";
  };
  onClick(button, () => {
    void notifications.enable().then((state) => {
      if (state === "granted")
        toast(
          notifications.pushProblem ?? "Notifications are on",
          notifications.pushProblem ? "error" : "info",
        );
      else if (state === "denied")
        toast("Notifications are blocked. Allow them in the browser's settings for this site.", "error");
    });
  });
  notifications.onChange(render);
  render();
  return button;
}
