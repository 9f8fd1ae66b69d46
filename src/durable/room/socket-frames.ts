import { ApiError } from "../../errors";
import { describeError, log } from "../../log";
import { type ClientFrame, parseClientFrame } from "../../protocol/frames";
import type { Allowances } from "./allowance";
import { sendError } from "./fan-out";
import type { GroupCommit } from "./group-commit";
import type { RoomHistory } from "./history";
import type { Outbox } from "./outbox";
import type { Publisher } from "./publish";
import type { Reactions } from "./reactions";
import type { Signals } from "./signals";
import type { MemberRow } from "./storage";
import type { RateWindow } from "./throttles";

/**
 * What a member's socket frame does (the shell admits it and checks the member): an invalid or
 * refused frame is answered with an error frame and charged on the rate; a valid one is done:
 * sends join the open group commit, typing and reads go to the signals window, edits, deletes and
 * reactions act on committed state and reach D1 through the outbox. Sends and edits spend the
 * sender's budget first.
 */
export class SocketFrames {
  constructor(
    private readonly conversationId: string,
    private readonly commits: GroupCommit,
    private readonly publisher: Publisher,
    private readonly reactions: Reactions,
    private readonly history: RoomHistory,
    private readonly signals: Signals,
    private readonly outbox: Outbox,
    /** The room's frame budget per user (MESSAGE_RATE_PER_10S). */
    private readonly rate: RateWindow,
    /** The users' message budgets, leased from their inboxes. */
    private readonly allowances: Allowances,
  ) {}

  /** A frame from `member`'s socket, as received: done, or answered with an error frame. */
  async receive(ws: WebSocket, member: MemberRow, data: string | ArrayBuffer): Promise<void> {
    const frame = parseClientFrame(data);
    if (frame.type === "invalid") {
      this.rate.charge(member.id); // a refused frame costs like any other
      sendError(ws, frame.code, frame.message, frame.clientId);
      return;
    }
    try {
      await this.handle(ws, member, frame);
    } catch (err) {
      // A write refused before it reached the rate (bad body, unknown id, not the sender's) costs too.
      if (!(err instanceof ApiError) || err.code !== "rate_limited") this.rate.charge(member.id);
      if (err instanceof ApiError) {
        sendError(ws, err.code, err.message, frame.type === "send" ? frame.clientId : undefined);
      } else {
        log("error", "room_frame_failed", { conversationId: this.conversationId, ...describeError(err) });
        sendError(ws, "internal", "Internal error");
      }
    }
  }

  private async handle(ws: WebSocket, member: MemberRow, frame: ClientFrame): Promise<void> {
    // A message older than the room's tail is fetched from the shard before it is changed (or
    // quoted, or reacted to).
    const older =
      frame.type === "edit" || frame.type === "delete" || frame.type === "react"
        ? frame.messageId
        : frame.type === "send"
          ? frame.replyTo
          : undefined;
    if (older !== undefined) await this.history.ensureLocal(older);
    // Writes spend the room's rate where they are made, a typing change when it is told.
    if (frame.type === "read") this.rate.take(member.id);
    // A send that waited for a lease is committed at once: frames queued behind it answer after it.
    const lease =
      frame.type === "send" || frame.type === "edit" ? this.allowances.spend(member.id, frame.body) : null;
    if (lease) await lease;
    this.apply(ws, member, frame);
    if (lease) this.publisher.commitOpen();
  }

  private apply(ws: WebSocket, member: MemberRow, frame: ClientFrame): void {
    switch (frame.type) {
      case "send":
        // Sends leave the group open: frames arriving together are committed together.
        this.commits.accept(member.id, frame.body, frame.clientId, ws, frame);
        return;
      case "typing":
        this.signals.typing(member.id, frame.active); // spends the rate when the change is told
        return;
      case "read":
        // Capped at the latest committed seq; the open group is not committed early for it.
        this.signals.read(member, frame.seq);
        return;
    }
    // Edits, deletes and reactions act on committed state: the open group is committed first.
    this.publisher.commitOpen();
    switch (frame.type) {
      case "edit":
        this.publisher.change(this.commits.edit(member.id, frame.messageId, frame.body), "message.updated");
        break;
      case "delete": {
        const { message, changed } = this.commits.remove(member.id, frame.messageId);
        if (changed) this.publisher.change(message, "message.deleted");
        break;
      }
      case "react":
        if (!this.reactions.apply(member.id, frame.messageId, frame.emoji, frame.active)) return;
        break;
    }
    this.outbox.queue();
  }
}
