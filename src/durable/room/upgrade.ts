import { CloseCode } from "../../protocol/close-codes";
import { type SocketSet, acceptSocket, closeSocket } from "../sockets";
import type { AlarmSchedule } from "./alarm";
import { replayEvents, sendWelcome } from "./fan-out";
import type { RoomHistory } from "./history";
import type { Publisher } from "./publish";
import type { Signals } from "./signals";
import { parseSince } from "./since";
import type { RoomState } from "./state";

export interface UpgradeSettings {
  /** REPLAY_LIMIT: messages a reconnect replays at most. */
  replayLimit: number;
  /** REPLAY_MAX_BYTES: and at most this many bytes of them (the first always goes). */
  replayMaxBytes: number;
  /** ROOM_SOCKETS_PER_USER: one more closes the user's oldest socket here with 4429. */
  socketsPerUser: number;
}

/**
 * A member's socket to the room, from the Worker's checked upgrade to the first frames it gets:
 * `ready`, then the replay of what it missed (bounded in messages and bytes; `replayedTo` says where
 * it stopped, the client pages on over REST), then live events. A user holds at most
 * ROOM_SOCKETS_PER_USER sockets here: each one beyond closes their oldest (4429), so one account
 * cannot make a room send every event to any number of its sockets.
 */
export class RoomUpgrades {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sockets: SocketSet,
    private readonly state: RoomState,
    private readonly history: RoomHistory,
    private readonly publisher: Publisher,
    private readonly signals: Signals,
    private readonly alarms: AlarmSchedule,
    private readonly settings: UpgradeSettings,
  ) {}

  /** Accepts the caller's socket (the room is loaded); a 404 for a non-member. */
  async open(caller: { userId: string; tokenExp: number }, params: URLSearchParams): Promise<Response> {
    const since = parseSince(params.get("since"));
    const batch = params.get("batch") === "1";
    this.state.requireMember(caller.userId);
    // The replay's part older than the room's tail is read from the shard before the socket is
    // accepted; the rest, from the log, in the same turn as the socket starts receiving.
    const replay = since === null ? null : await this.history.after(since, this.settings.replayLimit);
    const member = this.state.requireMember(caller.userId);
    this.publisher.commitOpen(); // the replay reads committed messages
    const { server, response } = acceptSocket(this.ctx, this.sockets, {
      userId: member.id,
      tokenExp: caller.tokenExp,
      batch,
    });
    // A socket that only pings never wakes the room: the alarm closes it when its token expires.
    this.alarms.request(caller.tokenExp * 1000);
    const { id, lastSeq } = this.state;
    const missed = replay === null ? [] : [...replay.older, ...replay.recent()];
    const { events, lastSeq: replayed } = replayEvents(
      missed,
      // As this socket's user sees each message (links to its files signed for them).
      (m) => this.publisher.messageView(m, member.id),
      this.settings.replayMaxBytes,
    );
    sendWelcome(
      server,
      batch,
      {
        type: "ready",
        conversationId: id,
        lastSeq,
        online: this.signals.online(),
        reads: this.state.reads(),
        replayedTo: since === null ? null : (replayed ?? Math.min(since, lastSeq)),
      },
      events,
    );
    // Counted with the new socket first, so the user never looks offline while the oldest goes.
    this.signals.arrived(member.id);
    for (const old of this.sockets.oldestBeyond(member.id, this.settings.socketsPerUser)) {
      const reason = "too many sockets to this conversation: this one was the oldest";
      this.signals.departed(closeSocket(this.sockets, old, CloseCode.tooManySockets, reason));
    }
    return response;
  }
}
