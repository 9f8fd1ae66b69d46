import type { RoomEvent } from "../../protocol/frames";
import type { ReadPosition } from "../../protocol/models";
import type { SocketAttachment } from "../sockets";
import { type Audience, type SignalEvent, fanOutSignals } from "./fan-out";
import type { RoomState } from "./state";
import type { MemberRow } from "./storage";
import type { TypingThrottle } from "./throttles";

/** The room's sockets as signals need them: the audience, and who has a socket open. */
export interface SignalSockets extends Audience {
  countFor(userId: string): number;
  onlineUsers(): string[];
}

export interface SignalsDeps {
  state: RoomState;
  sockets: SignalSockets;
  /** Stores moved read positions (one statement for the whole window). */
  store: { storeReads(rows: readonly ReadPosition[]): void };
  /** Positions were stored: the outbox and these readers' inboxes are due (once per window). */
  readsStored(userIds: string[]): void;
  typing: TypingThrottle;
  /** A typing change that will be told spends the user's write rate (throws `rate_limited`). */
  spend?: (userId: string) => void;
  /** RECEIPT_WINDOW_MS: the shortest window. */
  windowMs: number;
  /** Runs `fn` after `ms` (setTimeout; a hand-driven timer in unit tests). */
  later?: (fn: () => void, ms: number) => void;
}

/** A large room waits longer between windows: at least this much per member. */
const MS_PER_MEMBER = 2;

/**
 * Read positions, typing and presence: what viewers do besides sending, coalesced per window so
 * that a busy room's work per message stays O(sockets) whatever its viewers do. Within a window
 * (RECEIPT_WINDOW_MS, and at least 2 ms per member in large rooms) the room keeps only each user's
 * latest read position, typing state and presence, then stores the positions that moved in one
 * statement and sends every socket one frame with all the changes (fan-out.ts). A read that moves
 * nothing costs nothing: no write, no frame, no window.
 *
 * Positions move in memory at once (a `ready` or a REST view shows them) and are stored at the end
 * of the window: an eviction inside a window can lose the last one (the reader sends it again).
 * The window's timer runs only while something is pending.
 */
export class Signals {
  /** Users whose read position moved since it was last stored / last told. */
  private readonly unsaved = new Set<string>();
  private readonly untold = new Set<string>();
  /** Each user's latest typing state this window, and who the room last told is typing. */
  private readonly typingNow = new Map<string, boolean>();
  private readonly typingShown = new Set<string>();
  /** Users whose first socket opened or last one closed this window. */
  private readonly presenceChanged = new Set<string>();
  /** Who the room last told is online; after a wake-up, whoever had a socket open. */
  private shownOnline: Set<string> | null = null;
  private scheduled = false;
  private readonly later: (fn: () => void, ms: number) => void;

  constructor(private readonly deps: SignalsDeps) {
    this.later = deps.later ?? ((fn, ms) => void setTimeout(fn, ms));
  }

  /** A member read up to `seq` (capped at the latest): false when that moves nothing. */
  read(member: MemberRow, seq: number): boolean {
    const { state } = this.deps;
    if (!state.moveRead(member, Math.min(seq, state.lastSeq))) return false;
    this.unsaved.add(member.id);
    this.untold.add(member.id);
    this.schedule();
    return true;
  }

  /**
   * A member's own message: sending implies having read everything up to it (the commit moved the
   * position in memory already). Nobody is told (the message says it); the position is stored with
   * the window, not with the message.
   */
  sent(userId: string, seq: number): void {
    const member = this.deps.state.members.get(userId);
    if (!member) return;
    this.deps.state.moveRead(member, seq);
    this.unsaved.add(userId);
    this.schedule();
  }

  /** Stores the positions read since the last window now (a REST write answers once D1 has it). */
  persistReads(): void {
    if (this.unsaved.size === 0) return;
    const rows: ReadPosition[] = [];
    for (const userId of this.unsaved) {
      const member = this.deps.state.members.get(userId);
      if (member) rows.push({ userId, lastReadSeq: member.lastReadSeq });
    }
    this.unsaved.clear();
    this.deps.store.storeReads(rows);
    this.deps.readsStored(rows.map((r) => r.userId));
  }

  /** A typing frame: told to the others at the end of the window, if the throttle lets it through. */
  typing(userId: string, active: boolean): void {
    if (!this.deps.typing.allow(userId, active)) return;
    this.deps.spend?.(userId);
    this.typingNow.set(userId, active);
    this.schedule();
  }

  /** The `online` list of a `ready` event (none in rooms over PRESENCE_MAX_MEMBERS). */
  online(): string[] {
    return this.deps.state.presenceOn ? this.deps.sockets.onlineUsers() : [];
  }

  /** A socket was accepted (and counted): its user is news if it is their first. */
  arrived(userId: string): void {
    if (this.deps.sockets.countFor(userId) === 1) this.presenceMoved(userId, false);
  }

  /** A socket closed or was dropped (its attachment, if it was ours): news if it was the user's last. */
  readonly departed = (attachment: SocketAttachment | undefined): void => {
    if (attachment && this.deps.sockets.countFor(attachment.userId) === 0)
      this.presenceMoved(attachment.userId, true);
  };

  /** A member left the group (their sockets are closed already). */
  left(userId: string): void {
    this.presenceMoved(userId, true);
  }

  /**
   * A user's first socket opened or last one closed: told at the end of the window if it still
   * holds then. `wasOnline`: what the room had told before, for the first change after a wake-up.
   */
  private presenceMoved(userId: string, wasOnline: boolean): void {
    const { state, sockets } = this.deps;
    if (!state.presenceOn) return;
    if (this.shownOnline === null) {
      this.shownOnline = new Set(sockets.onlineUsers());
      if (wasOnline) this.shownOnline.add(userId);
      else this.shownOnline.delete(userId);
    }
    this.presenceChanged.add(userId);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const { windowMs, state } = this.deps;
    this.later(this.flush, Math.max(windowMs, MS_PER_MEMBER * state.activeCount));
  }

  /** The end of a window: store what moved, then one frame per socket with every change. */
  readonly flush = (): void => {
    this.scheduled = false;
    this.persistReads();
    const events: SignalEvent[] = [];
    const { state } = this.deps;
    for (const userId of this.untold) {
      const member = state.members.get(userId);
      if (!member?.active) continue;
      const read: RoomEvent = { type: "read", userId, seq: member.lastReadSeq };
      events.push({ data: JSON.stringify(read) });
    }
    this.untold.clear();
    for (const [userId, active] of this.typingNow) {
      // A start is always told (it renews the indicator); a stop only after a start was told.
      if (!active && !this.typingShown.has(userId)) continue;
      if (active) this.typingShown.add(userId);
      else this.typingShown.delete(userId);
      const typing: RoomEvent = { type: "typing", userId, active };
      events.push({ data: JSON.stringify(typing), exceptUser: userId });
    }
    this.typingNow.clear();
    this.presenceEvents(events);
    fanOutSignals(this.deps.sockets, events);
  };

  private presenceEvents(events: SignalEvent[]): void {
    const { state, sockets } = this.deps;
    if (this.presenceChanged.size === 0) return;
    const shown = this.shownOnline;
    if (!state.presenceOn || shown === null) {
      // The room grew past the presence limit: nothing to tell, and nothing known when it shrinks.
      this.shownOnline = null;
      this.presenceChanged.clear();
      return;
    }
    for (const userId of this.presenceChanged) {
      const online = sockets.countFor(userId) > 0 && state.isActive(userId);
      if (online === shown.has(userId)) continue;
      if (online) shown.add(userId);
      else shown.delete(userId);
      const presence: RoomEvent = { type: "presence", userId, online };
      events.push({ data: JSON.stringify(presence), exceptUser: userId });
    }
    this.presenceChanged.clear();
  }
}
