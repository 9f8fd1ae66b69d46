import type { Message } from "../../protocol/models";
import type { SocketSet } from "../sockets";
import { broadcastChange, fanOutGroup } from "./fan-out";
import type { RoomFiles } from "./files";
import type { CommittedGroup, GroupCommit } from "./group-commit";
import type { InboxNotifier } from "./inbox-notifier";
import type { Outbox } from "./outbox";
import type { Reactions } from "./reactions";
import type { Signals } from "./signals";
import type { SendInput, SendResult } from "./rpc-types";
import type { RoomState } from "./state";
import type { StoredMessage } from "./storage";
import type { WebhookOutbox } from "./webhook-outbox";

/**
 * What follows a write of the room's messages, whoever made it (a REST call, a socket frame, the
 * group timer): the sockets hear it, the D1 outbox, the inbox notices and the webhook events are
 * queued, a deleted message's files are deleted from R2, and a REST write waits until D1, the
 * writer's own inbox and R2 have it.
 */
export class Publisher {
  constructor(
    private readonly state: RoomState,
    private readonly sockets: SocketSet,
    private readonly commits: GroupCommit,
    private readonly outbox: Outbox,
    private readonly notifier: InboxNotifier,
    private readonly reactions: Reactions,
    private readonly signals: Signals,
    private readonly webhooks: Pick<WebhookOutbox, "messagesCreated" | "messageChanged">,
    private readonly files: Pick<RoomFiles, "sweep" | "sweepDone">,
    /** Keeps the object alive until a deletion of files started off the request path is done. */
    private readonly waitUntil: (work: Promise<void>) => void,
  ) {}

  /** A message as `viewer` sees it (their own links to its files). */
  readonly messageView = (m: StoredMessage, viewer: string | null = null): Message =>
    this.state.messageView(m, viewer);

  /** Commits the open group of sends, if any, and delivers it (also the group timer's callback). */
  commitOpen(): void {
    this.group(this.commits.commit());
  }

  /**
   * A send outside the socket's group commit (REST, a new conversation's first message, the server
   * API: `senderId` null is a system message).
   */
  send(senderId: string | null, input: SendInput): SendResult {
    const { group, own } = this.commits.sendNow(senderId, input.body, input.clientId ?? null, {
      replyTo: input.replyTo,
      attachments: input.attachments,
    });
    this.group(group);
    return { message: this.messageView(own.message, senderId), created: own.created };
  }

  /** A REST answer's message: with the caller's own reactions (`myReactions`), like every REST message. */
  mine(userId: string, message: Message): Message {
    return this.reactions.withMine(userId, [message])[0] ?? message;
  }

  group(group: CommittedGroup): void {
    if (group.sends.length === 0) return;
    fanOutGroup(this.sockets, group, this.messageView);
    if (group.stored === 0) return;
    // Sending implies having read up to one's own message: stored with the signals window.
    for (const { created, message } of group.sends) {
      if (created && message.senderId !== null) this.signals.sent(message.senderId, message.seq);
    }
    this.webhooks.messagesCreated(group.sends, this.messageView);
    this.outbox.queue();
    this.notifier.queue("all");
  }

  /**
   * An edit or deletion: every socket hears it, and the inboxes when they show the message. Returns
   * the message as `viewer` sees it.
   */
  change(
    updated: StoredMessage,
    type: "message.updated" | "message.deleted",
    viewer: string | null = null,
  ): Message {
    broadcastChange(this.sockets, type, updated, this.messageView);
    // Webhook receivers are nobody in particular: their files' links are the bare paths.
    this.webhooks.messageChanged(type, this.messageView(updated));
    // Its files are due now (files.ts): deleted at once, and again on the alarm while R2 fails.
    if (type === "message.deleted") this.waitUntil(this.files.sweep());
    // The inboxes show the last message, and its quote when it replies to this one.
    if (this.state.inboxShowsMessage(updated.id)) this.notifier.queue("all");
    return this.messageView(updated, viewer);
  }

  /**
   * A REST write answers once D1 has it and, when it changed what the caller's inbox shows, once
   * their inbox has it too: a REST client reads its own writes. The others' inboxes hear it from
   * the coalesced notices.
   */
  async restWritten(userId: string, inboxChanged: boolean): Promise<void> {
    // Read positions (the caller's, or a sender's implied one) are stored now, not with the window.
    this.signals.persistReads();
    await Promise.all([
      this.outbox.flushForRest(),
      inboxChanged ? this.notifier.tellNow([userId]) : null,
      this.files.sweepDone(),
    ]);
  }
}
