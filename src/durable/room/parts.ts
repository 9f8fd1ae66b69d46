import { FileLinks } from "../../attachments/links";
import { limitsFrom } from "../../config";
import { mirrorHistory, mirrorMembership } from "../../db/mirror";
import { shardDb } from "../../db/shards";
import { metricsFrom, windowedMetrics } from "../../observability/metrics";
import { SocketSet } from "../sockets";
import { AlarmSchedule } from "./alarm";
import { MemberErasure } from "./erasure";
import { Allowances } from "./allowance";
import { RoomFiles } from "./files";
import { GroupCommit } from "./group-commit";
import { RoomHistory, shardHistory } from "./history";
import { InboxNotifier, userInboxes } from "./inbox-notifier";
import { MemberChanges } from "./member-changes";
import { Membership } from "./membership";
import { Outbox } from "./outbox";
import { OutboxLog } from "./outbox-log";
import { Publisher } from "./publish";
import { Reactions } from "./reactions";
import { Signals } from "./signals";
import { SocketFrames } from "./socket-frames";
import { RoomState } from "./state";
import { RoomStorage } from "./storage";
import { RateWindow, TypingThrottle } from "./throttles";
import { RoomUpgrades } from "./upgrade";
import { WebhookOutbox } from "./webhook-outbox";
import { webhookSettingsFrom } from "../../webhooks/settings";

/**
 * The modules of one room, wired to its storage, its sockets, its alarm, the settings and the
 * bindings (the directory and the conversation's history shard for the outbox, the users' inboxes
 * for notices). Built once per wake-up.
 */
export function roomParts(ctx: DurableObjectState, env: Env, onGroupDue: () => void) {
  const limits = limitsFrom(env);
  const metrics = windowedMetrics(metricsFrom(env), limits.metricsWindowMs);
  const store = new RoomStorage(ctx.storage, metrics);
  const links = new FileLinks(env.JWT_SECRET, limits.attachmentUrlTtlSeconds);
  const state = new RoomState(
    ctx.id.name ?? "",
    store,
    limits.presenceMaxMembers,
    limits.inboxParticipants,
    links,
  );
  const sockets = new SocketSet(ctx, (change) => metrics.socket("room", change));
  // One frame budget per user: sends, edits, deletes, reactions, group changes and failed frames.
  const rate = new RateWindow(limits.messageRatePer10s, limits.messageRateWindowMs);
  const { messages: messageBudget, messageBytes: bytesBudget } = limits.userBudgets;
  const allowances = new Allowances(
    (userId, request) => env.USER_INBOX.getByName(userId).leaseMessages(request),
    {
      messages: limits.budgetLeaseMessages,
      // A tenth of the budget at most: leases a room may lose on expiry stay a small part of it.
      maxMessages: Math.min(limits.budgetLeaseMessagesMax, Math.floor(messageBudget.capacity / 10)),
      // The lease's share of the bytes budget, as its messages are of the messages budget.
      bytes: Math.ceil((bytesBudget.capacity * limits.budgetLeaseMessages) / messageBudget.capacity),
      ms: limits.budgetLeaseMs,
    },
  );
  const alarms = new AlarmSchedule(ctx.storage);
  // Uploads spend from the room's rate too.
  const bucket = { delete: (keys: string[]) => env.BUCKET.delete(keys) };
  const files = new RoomFiles(
    state.id,
    store,
    bucket,
    alarms,
    rate,
    {
      unattachedTtlMs: limits.attachmentUnattachedTtlSeconds * 1000,
      perMessage: limits.attachmentsPerMessage,
    },
    (file, viewer) => state.fileView(file, viewer),
  );
  const notifier = new InboxNotifier(
    store,
    state,
    userInboxes(env),
    alarms,
    {
      windowMs: limits.inboxNotifyWindowMs,
      msPerMember: limits.inboxNotifyMsPerMember,
      retryMs: limits.inboxRetryMs,
      restWaitMs: limits.restMirrorWaitMs,
    },
    (work) => ctx.waitUntil(work),
  );
  const log = new OutboxLog(store);
  const outbox = new Outbox(
    state,
    store,
    log,
    {
      membership: (id, batch) => mirrorMembership(env.DB, id, batch, metrics),
      history: (shard, id, batch) => mirrorHistory(shardDb(env, shard), id, batch, metrics),
    },
    alarms,
    {
      flushMs: limits.outboxFlushMs,
      retryMs: limits.outboxRetryMs,
      restWaitMs: limits.restMirrorWaitMs,
      batchMaxBytes: limits.d1BatchMaxBytes,
      batchMaxRows: limits.d1BatchMaxRows,
      logTail: limits.roomLogTail,
    },
    (pass) => ctx.waitUntil(pass),
  );
  const webhooks = new WebhookOutbox(
    state.id,
    ctx.storage.sql,
    state,
    env.EVENTS,
    alarms,
    { ...webhookSettingsFrom(env), retryMs: limits.outboxRetryMs },
    (pass) => ctx.waitUntil(pass),
  );
  const membership = new Membership(
    store,
    state,
    limits.maxGroupSize,
    () => outbox.membershipChanged(),
    limits.openHistoryShards,
    {
      created: () => webhooks.conversationCreated(),
      added: (users) => webhooks.participantsAdded(users),
      left: (user) => webhooks.participantLeft(user),
    },
  );
  membership.recordLegacyShard();
  const signals = new Signals({
    state,
    sockets,
    store,
    // Stored positions ride with the next D1 flush and inbox notice, once per window.
    readsStored: (userIds) => {
      outbox.queue();
      notifier.queue(userIds);
    },
    typing: new TypingThrottle(limits.typingThrottleMs),
    spend: (userId) => rate.take(userId),
    windowMs: limits.receiptWindowMs,
  });
  const commits = new GroupCommit(
    store,
    state,
    rate,
    limits.maxMessageChars,
    notifier,
    onGroupDue,
    limits.storageBatchMaxBytes,
    (count) => metrics.messages(state.id, count),
    files,
  );
  const reactions = new Reactions(store, state, sockets, notifier, rate, limits.maxReactionsPerMessage);
  const publisher = new Publisher(
    state,
    sockets,
    commits,
    outbox,
    notifier,
    reactions,
    signals,
    webhooks,
    files,
    (work) => ctx.waitUntil(work),
  );
  const historyReader = new RoomHistory(store, log, state, shardHistory(env, state));
  const erasure = new MemberErasure({
    store,
    state,
    sockets,
    signals,
    membership,
    commits,
    publisher,
    notifier,
    outbox,
    log,
    history: historyReader,
    files,
  });
  return {
    limits,
    state,
    sockets,
    alarms,
    notifier,
    outbox,
    membership,
    webhooks,
    historyReader,
    signals,
    commits,
    reactions,
    files,
    publisher,
    frames: new SocketFrames(
      state.id,
      commits,
      publisher,
      reactions,
      historyReader,
      signals,
      outbox,
      rate,
      allowances,
    ),
    changes: new MemberChanges(membership, state, sockets, signals, notifier, rate),
    upgrades: new RoomUpgrades(ctx, sockets, state, historyReader, publisher, signals, alarms, {
      replayLimit: limits.replayLimit,
      replayMaxBytes: limits.replayMaxBytes,
      socketsPerUser: limits.roomSocketsPerUser,
    }),
    rate,
    allowances,
    erasure,
  };
}

export type RoomParts = ReturnType<typeof roomParts>;
