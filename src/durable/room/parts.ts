import { limitsFrom } from "../../config";
import { mirrorConversation } from "../../db/mirror";
import { SocketSet } from "../sockets";
import { AlarmSchedule } from "./alarm";
import { GroupCommit } from "./group-commit";
import { InboxNotifier, userInboxes } from "./inbox-notifier";
import { Membership } from "./membership";
import { Outbox } from "./outbox";
import { Presence } from "./presence";
import { RoomState } from "./state";
import { RoomStorage } from "./storage";
import { RateWindow, TypingThrottle } from "./throttles";

/**
 * The modules of one room, wired to its storage, its sockets, its alarm, the settings and the
 * bindings (D1 for the outbox, the users' inboxes for notices). Built once per wake-up.
 */
export function roomParts(ctx: DurableObjectState, env: Env, onGroupDue: () => void) {
  const limits = limitsFrom(env);
  const store = new RoomStorage(ctx.storage);
  const state = new RoomState(ctx.id.name ?? "", store, limits.presenceMaxMembers);
  const sockets = new SocketSet(ctx);
  const alarms = new AlarmSchedule(ctx.storage);
  const notifier = new InboxNotifier(store, state, userInboxes(env), alarms, limits.inboxNotifyWindowMs);
  const outbox = new Outbox(
    state.id,
    store,
    (id, batch) => mirrorConversation(env.DB, id, batch),
    alarms,
    { flushMs: limits.outboxFlushMs, retryMs: limits.outboxRetryMs, restWaitMs: limits.restMirrorWaitMs },
    (pass) => ctx.waitUntil(pass),
  );
  return {
    limits,
    state,
    sockets,
    alarms,
    notifier,
    outbox,
    presence: new Presence(sockets, state),
    typing: new TypingThrottle(limits.typingThrottleMs),
    membership: new Membership(store, state, limits.maxGroupSize, () => outbox.membershipChanged()),
    commits: new GroupCommit(
      store,
      state,
      new RateWindow(limits.messageRatePer10s),
      limits.maxMessageChars,
      notifier,
      onGroupDue,
    ),
  };
}

export type RoomParts = ReturnType<typeof roomParts>;
