import type { Conversation, Me, User } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h, svgIcon } from "../dom";
import { Notifications } from "../notifications";
import { Courier } from "../state/courier";
import { InboxStore } from "../state/inbox";
import { PendingSends } from "../state/pending";
import { ConversationView } from "./conversation-view";
import { openGroupDialog } from "./group-dialog";
import { openInfoDialog } from "./info-dialog";
import { openProfileDialog } from "./profile-dialog";
import { Sidebar } from "./sidebar";
import { toast } from "./toast";

const DESKTOP = window.matchMedia("(min-width: 760px)");

/**
 * The signed-in layout: the inbox beside the open conversation on a desktop, one of the two at a
 * time on a phone. The route is the URL hash (#/c/<id>), so back and forward work.
 */
export class ChatScreen {
  readonly el: HTMLElement;
  private readonly inbox: InboxStore;
  private readonly sidebar: Sidebar;
  private readonly pane = h("main", { class: "pane", id: "main" });
  private view: ConversationView | null = null;
  private readonly pending = new PendingSends();
  private readonly courier: Courier;
  private readonly notifications: Notifications;

  constructor(
    private readonly api: Api,
    private readonly me: Me,
    private readonly signOut: (notice?: string) => void,
  ) {
    this.inbox = new InboxStore(
      api,
      (state, retryIn) => this.sidebar.badge.set(state, retryIn),
      () => void api.me().catch(() => undefined),
    );
    this.notifications = new Notifications(api, me.id);
    this.inbox.onLive((c, before) => this.notifications.onLiveUpdate(c, before, this.inbox.unread(c)));
    this.sidebar = new Sidebar({
      api,
      me,
      inbox: this.inbox,
      notifications: this.notifications,
      openWith: (user) => void this.openWith(user),
      openMessage: (id, seq) => this.openMessage(id, seq),
      newGroup: () => openGroupDialog(api, (c) => this.show(c)),
      signOut: () => signOut(),
      openMe: () => this.openProfile(me),
    });
    this.courier = new Courier(api, this.pending);
    this.el = h("div", { class: "layout", "data-view": "inbox" }, this.sidebar.el, this.pane);
    this.inbox.subscribe(() => this.updateTitle());
    this.inbox.start();
    this.route();
  }

  /** The session's token was renewed: the live sockets move to tickets of the new one. */
  renewed(): void {
    this.inbox.rollover();
    this.view?.rollover();
    this.courier.rolloverAll();
  }

  destroy(): void {
    this.view?.destroy();
    this.view = null;
    this.courier.releaseAll();
    this.inbox.stop();
    document.title = "Edge chat";
  }

  /** Shows what the hash names: a conversation (`#/c/<id>`, at a message: `#/c/<id>/m/<seq>`), or the inbox. */
  route(): void {
    const match = /^#\/c\/([\w-]+)(?:\/m\/(\d+))?$/.exec(location.hash);
    const id = match?.[1] ?? null;
    const at = match?.[2] === undefined ? undefined : Number(match[2]);
    this.sidebar.setActive(id);
    this.el.dataset.view = id ? "thread" : "inbox";
    if (id && this.view?.conversationId === id) {
      if (at !== undefined) void this.view.jumpTo(at);
      return;
    }
    this.closeView();
    if (!id) {
      this.pane.replaceChildren(
        h(
          "div",
          { class: "placeholder" },
          svgIcon("chat"),
          h("h2", null, "Your messages"),
          h("p", null, "Pick a conversation, or find someone to talk to."),
        ),
      );
      return;
    }
    // The view delivers its own messages again; the background delivery stops first.
    this.courier.release(id);
    this.view = new ConversationView(
      id,
      {
        api: this.api,
        me: this.me,
        inbox: this.inbox,
        pending: this.pending,
        close: (notice) => {
          if (notice) toast(notice);
          location.hash = "#/";
        },
        openInfo: (c) =>
          openInfoDialog(this.api, this.me, c, {
            onLeft: () => {
              location.hash = "#/";
            },
            onChanged: (updated) => this.inbox.put(updated),
            openProfile: (user) => this.openProfile(user),
          }),
        openProfile: (user) => this.openProfile(user),
      },
      at,
    );
    this.pane.replaceChildren(this.view.el);
    if (DESKTOP.matches) this.view.focus();
  }

  /** Closes the open view; what it was still sending goes on in the background. */
  private closeView(): void {
    const view = this.view;
    if (!view) return;
    this.view = null;
    view.destroy();
    this.courier.carry(view.conversationId, view.thread);
  }

  private openProfile(user: User): void {
    openProfileDialog(
      this.api,
      this.me,
      user,
      (u) => void this.openWith(u),
      () => this.signOut("Your account was deleted."),
    );
  }

  private async openWith(user: User): Promise<void> {
    try {
      this.show(await this.api.createConversation([user.id]));
    } catch (err) {
      toast(err instanceof ApiError ? err.message : "Could not open the conversation", "error");
    }
  }

  /** A search result: the conversation at that message (again, if the address already says so). */
  private openMessage(conversationId: string, seq: number): void {
    const target = `#/c/${conversationId}/m/${seq}`;
    if (location.hash === target) this.route();
    else location.hash = target;
  }

  private show(conversation: Conversation): void {
    this.inbox.put(conversation);
    location.hash = `#/c/${conversation.id}`;
  }

  private updateTitle(): void {
    const unread = this.inbox.list().reduce((n, c) => n + this.inbox.unread(c), 0);
    document.title = unread > 0 ? `(${unread}) Edge chat` : "Edge chat";
  }
}
