import type { ClientFrame, RoomEvent } from "../../protocol/frames";
import type { Conversation, Message } from "../../protocol/models";
import type { Api } from "../api";
import type { InboxStore } from "../state/inbox";
import type { RoomLinkHandlers } from "../state/room-link";
import type { ThreadState } from "../state/thread";
import type { MessageList } from "./message-list";
import { toast, toastFailure } from "./toast";

export interface FeatureDeps {
  api: Api;
  inbox: InboxStore;
  conversationId: string;
  thread: ThreadState;
  list: MessageList;
  /** Sends a frame on the room socket; false when it is not open. */
  frame(frame: ClientFrame): boolean;
  current(): Conversation | null;
  setConversation(conversation: Conversation): void;
  /** Loads the next older page (or waits for the one loading). */
  loadOlder(): Promise<void>;
  /** Shows a message read again from the server. */
  receive(message: Message): void;
  destroyed(): boolean;
}

/**
 * The parts of an open conversation beyond sending: reactions, quotes kept in step with their
 * originals, the group's name and members changing live, and my mute.
 */
export class ConversationFeatures {
  /** Messages whose file links were read again already (a file that still fails is gone). */
  private readonly refreshed = new Set<number>();

  constructor(private readonly d: FeatureDeps) {}

  /**
   * A picture of `message` did not load: its link may have expired (a page loaded hours ago,
   * scrolled to now). The message is read again, once, with fresh links.
   */
  async refreshFiles(message: Message): Promise<void> {
    if (this.refreshed.has(message.seq)) return;
    this.refreshed.add(message.seq);
    try {
      const page = await this.d.api.history(this.d.conversationId, { after: message.seq - 1 }, 1);
      const fresh = page.messages[0];
      if (fresh?.seq === message.seq && !this.d.destroyed()) this.d.receive(fresh);
    } catch {
      // offline: the picture stays broken until the conversation is opened again
    }
  }

  /** What the room socket tells this part of the view. */
  linkHandlers(): Pick<RoomLinkHandlers, "onReaction" | "onOriginalChanged" | "onConversationChanged"> {
    return {
      onReaction: (event) => this.onReaction(event),
      onOriginalChanged: (original) => this.onOriginalChanged(original),
      onConversationChanged: (event) => this.onConversationChanged(event),
    };
  }

  /** Shows message `seq` (a quote's original), loading older pages until it is there. */
  async jumpTo(seq: number): Promise<void> {
    const { list, thread } = this.d;
    while (!list.reveal(seq) && !this.d.destroyed()) {
      if (!thread.hasMoreBefore || seq >= thread.oldestSeq) {
        toast("That message is not available", "error");
        return;
      }
      const before = thread.oldestSeq;
      await this.d.loadOlder();
      if (thread.oldestSeq === before) return; // the page failed (and said so): no loop of retries
    }
  }

  /** Over the socket when it is open (its `reaction` event updates the counts), else over REST. */
  async react(message: Message, emoji: string, active: boolean): Promise<void> {
    if (this.d.frame({ type: "react", messageId: message.id, emoji, active })) return;
    try {
      await this.d.api.react(this.d.conversationId, message.id, emoji, active);
    } catch (err) {
      toastFailure(err, "Could not react");
    }
  }

  async setMuted(muted: boolean): Promise<void> {
    try {
      const updated = await this.d.api.setMuted(this.d.conversationId, muted);
      this.d.setConversation(updated);
      this.d.inbox.put(updated);
      toast(muted ? "Muted: no notifications from this conversation" : "Notifications are on again");
    } catch (err) {
      toastFailure(err, "Could not change that");
    }
  }

  onReaction(event: Extract<RoomEvent, { type: "reaction" }>): void {
    const changed = this.d.thread.applyReaction(event);
    if (changed) this.d.list.upsert(changed);
  }

  /** An edit or deletion reaches the replies quoting it, as the room rewrote its stored quotes. */
  onOriginalChanged(original: Message): void {
    for (const reply of this.d.thread.requote(original)) this.d.list.upsert(reply);
  }

  /**
   * The inbox lists only the first participants of a conversation: when its count changes, the
   * whole list is fetched again (the header and "Seen by" use it); a new title or mute is taken as is.
   */
  onInboxChange(): void {
    const fresh = this.d.inbox.get(this.d.conversationId);
    const current = this.d.current();
    if (!fresh || !current) return;
    if (fresh.participantCount !== current.participantCount) {
      this.d.api.conversation(this.d.conversationId).then(
        (conversation) => {
          if (!this.d.destroyed()) this.d.setConversation(conversation);
        },
        () => undefined, // the next change or reload tries again
      );
    } else if (fresh.title !== current.title || fresh.muted !== current.muted) {
      // A rename or my mute from another device: the participants I have are the whole list still.
      this.d.setConversation({ ...current, title: fresh.title, muted: fresh.muted });
    }
  }

  onConversationChanged(
    event: Extract<RoomEvent, { type: "conversation.updated" | "participant.removed" }>,
  ): void {
    const current = this.d.current();
    if (!current) return;
    if (event.type === "conversation.updated") {
      this.d.setConversation({ ...current, title: event.title });
    } else {
      const participants = current.participants.filter((p) => p.id !== event.userId);
      const gone = current.participants.length - participants.length;
      this.d.setConversation({ ...current, participants, participantCount: current.participantCount - gone });
    }
  }
}
