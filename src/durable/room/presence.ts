import type { RoomEvent } from "../../protocol/frames";
import type { SocketAttachment, SocketSet } from "../sockets";
import type { RoomState } from "./state";

/**
 * Who is online in the room: a user's first socket announces them, their last one going away
 * announces their leaving. Rooms over PRESENCE_MAX_MEMBERS have no presence at all (announcing
 * every arrival to every socket made filling a room quadratic) and list nobody in `ready.online`.
 */
export class Presence {
  constructor(
    private readonly sockets: SocketSet,
    private readonly state: RoomState,
  ) {}

  /** The `online` list of a `ready` event: a list that is never updated would be stale at once. */
  online(): string[] {
    return this.state.presenceOn ? this.sockets.onlineUsers() : [];
  }

  /** A socket was accepted: the others hear about its user if it is the user's first. */
  arrived(ws: WebSocket, userId: string): void {
    if (this.sockets.countFor(userId) !== 1 || !this.state.presenceOn) return;
    this.sockets.broadcast(JSON.stringify({ type: "presence", userId, online: true } satisfies RoomEvent), {
      except: ws,
    });
  }

  /** A socket closed or was dropped (its attachment, if it was ours): announces a member's last one. */
  readonly departed = (attachment: SocketAttachment | undefined): void => {
    if (
      attachment &&
      this.state.presenceOn &&
      this.sockets.countFor(attachment.userId) === 0 &&
      this.state.isActive(attachment.userId)
    ) {
      this.announceOffline(attachment.userId);
    }
  };

  /** A member left the group (their sockets are closed already). */
  left(userId: string): void {
    if (this.state.presenceOn) this.announceOffline(userId);
  }

  private announceOffline(userId: string): void {
    this.sockets.broadcast(JSON.stringify({ type: "presence", userId, online: false } satisfies RoomEvent));
  }
}
