import type { WebhookSettings } from "../../webhooks/settings";
import { newId, nowIso } from "../../ids";
import { describeError, log } from "../../log";
import type { Message, User } from "../../protocol/models";
import type { WebhookEventInput } from "../../protocol/webhooks";
import type { AlarmSchedule } from "./alarm";
import type { CommittedSend } from "./group-commit";
import type { RoomState } from "./state";
import type { StoredMessage } from "./storage";
import type { Clock } from "./throttles";

/** What a room puts on the EVENTS queue: a reference to its batch in flight for one endpoint. */
export interface WebhookJob {
  conversationId: string;
  url: string;
  batchId: string;
}

/**
 * The events of a batch the endpoint has not been told yet, in order (each `body` is signed as is),
 * and the seq that completes the batch (what to report once they are all delivered).
 */
export interface WebhookBatch {
  events: { seq: number; body: string }[];
  through: number;
}

/** What the queue consumer reports: delivered up to a seq (all or part of the batch), or gave up. */
export type WebhookReport = { deliveredThrough: number } | { abandoned: true };

interface Endpoint {
  delivered: number;
  batchId: string | null;
  batchThrough: number;
  sentAt: number;
}

/**
 * The room's webhook outbox: ordered, at-least-once delivery of its events to every configured
 * endpoint, with nothing on a send's critical path.
 *
 * Each event is a row of the room's SQLite, written in the same turn as the commit it tells about,
 * numbered by a per-room sequence. Per endpoint the room keeps a cursor (delivered up to) and at
 * most one batch in flight: a queue message naming the batch. The consumer asks the room for the
 * batch's undelivered events, POSTs them in order, and reports how far it got; the room moves the
 * cursor and puts the next batch on the queue. A failure is retried by the queue with backoff;
 * after the dead-letter queue the consumer reports the batch abandoned and the room moves on (and
 * logs it). A batch nobody reports on within WEBHOOK_REDELIVER_SECONDS (a lost queue message) is
 * enqueued again under a new id; a stale message then finds its batch gone and is dropped. So an
 * endpoint sees every event, first time in order, duplicates only of events whose delivery it did
 * not acknowledge with a 2xx; the event `id` deduplicates those. One slow endpoint delays only its
 * own cursor, never the room or another endpoint. Events every endpoint has are deleted.
 */
export class WebhookOutbox {
  private running: Promise<void> | null = null;
  private again = false;
  /** The earliest time this outbox asked the alarm for; null: unknown (after a wake-up), so look. */
  private dueAt: number | null = null;
  /** Whether leftovers from when webhooks were on have been cleared since this wake-up. */
  private cleared = false;

  constructor(
    private readonly conversationId: string,
    private readonly sql: SqlStorage,
    private readonly state: RoomState,
    private readonly queue: { send(job: WebhookJob): Promise<unknown> },
    private readonly alarm: AlarmSchedule,
    private readonly settings: Pick<
      WebhookSettings,
      "urls" | "redeliverMs" | "batchEvents" | "maxBacklog"
    > & {
      retryMs: number;
    },
    private readonly waitUntil: (pass: Promise<void>) => void,
    private readonly now: Clock = Date.now,
  ) {}

  get enabled(): boolean {
    return this.settings.urls.length > 0;
  }

  // ---- recording: called right after a commit, in the same turn ----

  messagesCreated(sends: readonly CommittedSend[], view: (m: StoredMessage) => Message): void {
    if (!this.enabled) return;
    this.record(
      sends.flatMap((s) =>
        s.created ? [{ type: "message.created", data: { message: view(s.message) } }] : [],
      ),
    );
  }

  messageChanged(type: "message.updated" | "message.deleted", message: Message): void {
    if (this.enabled) this.record([{ type, data: { message } }]);
  }

  conversationCreated(): void {
    if (!this.enabled) return;
    const meta = this.state.requireMeta();
    const { id, kind, title, participants, createdAt } = this.state.sharedView(false);
    this.record([
      {
        type: "conversation.created",
        data: { conversation: { id, kind, title, participants, createdAt, createdBy: meta.createdBy } },
      },
    ]);
  }

  participantsAdded(users: readonly User[]): void {
    if (!this.enabled) return;
    this.record(users.map((u) => ({ type: "participant.added", data: this.participantData(u) })));
  }

  participantLeft(user: User): void {
    if (this.enabled) this.record([{ type: "participant.left", data: this.participantData(user) }]);
  }

  private participantData(u: User) {
    const user = { id: u.id, firstName: u.firstName, lastName: u.lastName, avatarUrl: u.avatarUrl };
    return { conversationId: this.conversationId, user };
  }

  private record(events: WebhookEventInput[]): void {
    if (events.length === 0) return;
    const createdAt = nowIso();
    const bodies = events.map((e) =>
      JSON.stringify({ id: newId("e"), type: e.type, createdAt, data: e.data }),
    );
    try {
      this.sql.exec(
        "INSERT INTO webhook_events (body) SELECT value FROM json_each(?)",
        JSON.stringify(bodies),
      );
    } catch (err) {
      // The change itself is committed and told to the sockets already: a webhook fault must not
      // turn it into an error for the sender. These events are lost, and the log says so.
      log("error", "webhook_record_failed", {
        conversationId: this.conversationId,
        events: events.length,
        ...describeError(err),
      });
      return;
    }
    // A backstop: if this object stops before the pass below has enqueued, the alarm does it.
    this.wakeAt(this.now() + this.settings.retryMs);
    this.kick();
  }

  // ---- the consumer's side (RPC through the room) ----

  /** The batch's events not delivered yet, or null when `batchId` is not the batch in flight. */
  batch(url: string, batchId: string): WebhookBatch | null {
    const ep = this.endpoint(url);
    if (!ep || ep.batchId !== batchId) return null;
    const events = this.sql
      .exec(
        "SELECT seq, body FROM webhook_events WHERE seq > ? AND seq <= ? ORDER BY seq",
        ep.delivered,
        ep.batchThrough,
      )
      .toArray()
      .map((r) => ({ seq: Number(r.seq), body: String(r.body) }));
    return { events, through: ep.batchThrough };
  }

  report(url: string, batchId: string, report: WebhookReport): void {
    const ep = this.endpoint(url);
    if (!ep) return;
    let delivered = ep.delivered;
    let done = false;
    if ("abandoned" in report) {
      if (ep.batchId !== batchId) return;
      log("error", "webhook_batch_abandoned", {
        conversationId: this.conversationId,
        endpoint: originOf(url),
        // The room's event numbers (not message seqs): how many events this endpoint missed.
        fromEvent: ep.delivered + 1,
        throughEvent: ep.batchThrough,
      });
      delivered = Math.max(delivered, ep.batchThrough);
      done = true;
    } else {
      // A stale batch's report is still true: those events did arrive.
      delivered = Math.max(delivered, report.deliveredThrough);
      done = ep.batchId === batchId && delivered >= ep.batchThrough;
    }
    this.sql.exec(
      done
        ? "UPDATE webhook_endpoints SET delivered_seq = ?, batch_id = NULL WHERE url = ?"
        : "UPDATE webhook_endpoints SET delivered_seq = ? WHERE url = ?",
      delivered,
      url,
    );
    this.kick();
  }

  /** The alarm's part: batches to (re)enqueue, or webhooks turned off since events were kept. */
  due(): void {
    if (this.enabled) {
      if (this.dueAt !== null && this.now() < this.dueAt) {
        this.alarm.request(this.dueAt);
        return;
      }
      this.dueAt = null;
      this.kick();
    } else if (!this.cleared) {
      this.cleared = true;
      this.sql.exec("DELETE FROM webhook_events");
      this.sql.exec("DELETE FROM webhook_endpoints");
    }
  }

  // ---- enqueuing ----

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pump().finally(() => {
      this.running = null;
    });
    this.waitUntil(this.running);
  }

  private async pump(): Promise<void> {
    // After the caller's turn: events recorded together (a group commit, a batch of additions)
    // leave in one batch, and the commit's own work is done first.
    await Promise.resolve();
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    } catch (err) {
      log("error", "webhook_pass_failed", { conversationId: this.conversationId, ...describeError(err) });
      this.wakeAt(this.now() + this.settings.retryMs);
    }
  }

  /** Enqueues the next batch of every endpoint without one in flight (or whose batch went silent). */
  private async pass(): Promise<void> {
    const urls = this.settings.urls;
    this.sql.exec(
      "DELETE FROM webhook_endpoints WHERE url NOT IN (SELECT value FROM json_each(?))",
      JSON.stringify(urls),
    );
    // Events every endpoint has had are done with (an endpoint new to the room starts at 0).
    this.sql.exec(
      `DELETE FROM webhook_events WHERE seq <= (SELECT min(delivered_seq) FROM webhook_endpoints)
         AND (SELECT count(*) FROM webhook_endpoints) = ?`,
      urls.length,
    );
    const newest = this.sql.exec("SELECT max(seq) AS n FROM webhook_events").one().n;
    for (const url of urls) {
      const ep = this.endpoint(url) ?? this.addEndpoint(url);
      if (typeof newest === "number") this.capBacklog(url, ep, newest);
      const now = this.now();
      if (ep.batchId !== null && now < ep.sentAt + this.settings.redeliverMs) {
        this.wakeAt(ep.sentAt + this.settings.redeliverMs);
        continue;
      }
      const row = this.sql
        .exec(
          "SELECT max(seq) AS through FROM (SELECT seq FROM webhook_events WHERE seq > ? ORDER BY seq LIMIT ?)",
          ep.delivered,
          this.settings.batchEvents,
        )
        .toArray()[0];
      const through = typeof row?.through === "number" ? row.through : null;
      if (through === null) continue;
      const batchId = newId("e");
      this.sql.exec(
        "UPDATE webhook_endpoints SET batch_id = ?, batch_through = ?, sent_at = ? WHERE url = ?",
        batchId,
        through,
        now,
        url,
      );
      try {
        await this.queue.send({ conversationId: this.conversationId, url, batchId });
        this.wakeAt(now + this.settings.redeliverMs);
      } catch (err) {
        log("warn", "webhook_enqueue_failed", {
          conversationId: this.conversationId,
          endpoint: originOf(url),
          ...describeError(err),
        });
        this.sql.exec(
          "UPDATE webhook_endpoints SET batch_id = NULL WHERE url = ? AND batch_id = ?",
          url,
          batchId,
        );
        this.wakeAt(this.now() + this.settings.retryMs);
      }
    }
  }

  private wakeAt(at: number): void {
    if (this.dueAt === null || at < this.dueAt) this.dueAt = at;
    this.alarm.request(at);
  }

  /**
   * An endpoint down for long would make the room keep every event since: past WEBHOOK_MAX_BACKLOG
   * the oldest are skipped for it (logged; order is kept, those events are lost to it).
   */
  private capBacklog(url: string, ep: Endpoint, newest: number): void {
    const keepFrom = newest - this.settings.maxBacklog;
    if (ep.delivered >= keepFrom) return;
    log("error", "webhook_backlog_dropped", {
      conversationId: this.conversationId,
      endpoint: originOf(url),
      events: keepFrom - ep.delivered,
    });
    this.sql.exec("UPDATE webhook_endpoints SET delivered_seq = ? WHERE url = ?", keepFrom, url);
    ep.delivered = keepFrom;
  }

  private endpoint(url: string): Endpoint | null {
    const r = this.sql
      .exec(
        "SELECT delivered_seq, batch_id, batch_through, sent_at FROM webhook_endpoints WHERE url = ?",
        url,
      )
      .toArray()[0];
    if (!r) return null;
    return {
      delivered: Number(r.delivered_seq),
      batchId: typeof r.batch_id === "string" ? r.batch_id : null,
      batchThrough: Number(r.batch_through ?? 0),
      sentAt: Number(r.sent_at ?? 0),
    };
  }

  private addEndpoint(url: string): Endpoint {
    this.sql.exec("INSERT INTO webhook_endpoints (url) VALUES (?)", url);
    return { delivered: 0, batchId: null, batchThrough: 0, sentAt: 0 };
  }
}

/** An endpoint as logs name it: its origin only (a path or query may carry the host's own secret). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid)";
  }
}
