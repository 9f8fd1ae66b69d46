import { CloseCode } from "../../protocol/close-codes";
import type { RoomEvent } from "../../protocol/frames";
import type { SocketSet } from "../sockets";
import type { InboxNotifier } from "./inbox-notifier";
import type { Membership } from "./membership";
import type { Signals } from "./signals";
import type { RoomState } from "./state";
import type { MemberRow } from "./storage";
import type { RateWindow } from "./throttles";

/**
 * Managing a group and one's own settings: rename, remove or leave, mute. Membership stores each
 * change (membership.ts); this tells the room's sockets and queues the inbox notices. Copying to
 * D1 and the notices that cannot wait (the removed person's inbox) are the shell's part.
 */
export class MemberChanges {
  constructor(
    private readonly membership: Membership,
    private readonly state: RoomState,
    private readonly sockets: SocketSet,
    private readonly signals: Pick<Signals, "left">,
    private readonly notifier: InboxNotifier,
    /** The room's per-user write budget, shared with sends and reactions. */
    private readonly rate: RateWindow,
  ) {}

  /** Renames the group; the room's sockets and every member's inbox hear of it. False if unchanged. */
  rename(member: MemberRow, title: string | null): boolean {
    this.rate.take(member.id);
    if (!this.membership.rename(title)) return false;
    const event: RoomEvent = {
      type: "conversation.updated",
      conversationId: this.state.id,
      title,
      userId: member.id,
    };
    this.sockets.broadcast(JSON.stringify(event));
    this.notifier.queue("all");
    return true;
  }

  /**
   * Takes `userId` out of the group (see Membership.remove for who may): their sockets close with
   * 4403 at once, the others hear `participant.removed`. Leaving is never rate-limited.
   */
  remove(by: MemberRow, userId: string): MemberRow {
    if (userId !== by.id) this.rate.take(by.id);
    const gone = this.membership.remove(by, userId);
    const why = gone.id === by.id ? "left the conversation" : "removed from the conversation";
    this.sockets.closeUser(gone.id, CloseCode.notParticipant, why);
    this.signals.left(gone.id);
    this.sockets.broadcast(
      JSON.stringify({ type: "participant.removed", userId: gone.id, by: by.id } satisfies RoomEvent),
    );
    this.notifier.queue("all");
    return gone;
  }

  /** The member's own mute: only their inboxes hear of it (their other devices). False if unchanged. */
  mute(member: MemberRow, muted: boolean): boolean {
    this.rate.take(member.id);
    if (!this.membership.setMuted(member, muted)) return false;
    this.notifier.queue([member.id]);
    return true;
  }
}
