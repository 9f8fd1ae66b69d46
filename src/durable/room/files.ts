import { attachmentKey } from "../../attachments/store";
import { ApiError, notFound } from "../../errors";
import { newId, nowIso } from "../../ids";
import { describeError, log } from "../../log";
import type { Attachment } from "../../protocol/models";
import type { AttachmentFields } from "../../views";
import type { AlarmSchedule } from "./alarm";
import { num, str, strOrNull } from "./message-rows";
import type { RoomStorage } from "./storage";
import type { Clock, RateWindow } from "./throttles";

/** Where the room deletes files: the R2 bucket (BUCKET) in production. */
export interface FileBucket {
  delete(keys: string[]): Promise<void>;
}

/** What the Worker learned storing an upload, for the room to record. */
export interface UploadedFile {
  name: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
}

/** A finished upload as its uploader sees it; null when the upload failed and was dropped. */
export type Finished = Attachment | null;

/** A file the Worker may serve: where it is and what to answer with. */
export interface ServedFile extends AttachmentFields {
  key: string;
}

export interface FileSettings {
  /** ATTACHMENT_UNATTACHED_TTL_SECONDS, in ms: an upload never sent is deleted this long after it finished. */
  unattachedTtlMs: number;
  /** ATTACHMENTS_PER_MESSAGE. */
  perMessage: number;
}

/** An upload still streaming is given this long on top of the TTL before its row and file go. */
const UPLOAD_GRACE_MS = 60 * 60_000;
/** After R2 refused a deletion, the next attempt. */
const DELETE_RETRY_MS = 60_000;
/** R2 deletes at most 1000 keys per call. */
const DELETE_BATCH = 1000;

type FileState = "uploading" | "ready" | "attached" | "deleting";

const invalid = (message: string, index: number) =>
  new ApiError("validation_failed", message, { details: [{ path: `attachments.${index}`, message }] });

/**
 * The conversation's files (table `files`): one row per upload, recorded before its first byte is
 * stored, so no file in R2 is ever unknown to its room. An upload is `uploading`, then `ready` to be
 * sent by its uploader; a send makes it `attached` to its message in the same transaction as the
 * message is stored; a file never sent within the TTL, and the files of a deleted message, become
 * `deleting` and the room's alarm deletes them from R2 and then forgets them (retried while R2
 * fails). Sends of a group commit claim their files in memory until they are stored, so one file
 * cannot go out with two messages.
 */
export class RoomFiles {
  /** File id → the send that claimed it and has not been stored yet (sender, clientId). */
  private readonly claims = new Map<string, string>();
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly conversationId: string,
    private readonly store: RoomStorage,
    private readonly bucket: FileBucket,
    private readonly alarm: AlarmSchedule,
    /** Uploads count against the writes of MESSAGE_RATE_PER_10S, like sends. */
    private readonly rate: Pick<RateWindow, "take">,
    private readonly settings: FileSettings,
    /** A file with its link for one reader (RoomState.fileView). */
    private readonly view: (file: AttachmentFields, viewer: string) => Attachment,
    private readonly now: Clock = Date.now,
  ) {}

  /** A new upload by `uploaderId`: its id, recorded (with a deadline) before anything is stored. */
  begin(uploaderId: string): string {
    this.rate.take(uploaderId);
    const id = newId("a");
    const due = this.now() + this.settings.unattachedTtlMs + UPLOAD_GRACE_MS;
    this.store.sql.exec(
      "INSERT INTO files (id, uploader_id, state, created_at, due_at) VALUES (?, ?, 'uploading', ?, ?)",
      id,
      uploaderId,
      nowIso(),
      due,
    );
    this.alarm.request(due);
    return id;
  }

  /**
   * The Worker stored the upload (`file`), or gave up (null: nothing to keep, delete what may be
   * there). The file is then the uploader's to send until the TTL runs out.
   */
  finish(uploaderId: string, id: string, file: UploadedFile | null): Finished {
    const row = this.row(id);
    if (!row || row.uploaderId !== uploaderId || row.state !== "uploading")
      throw notFound("Upload not found");
    if (!file) {
      this.markDeleting([id]);
      return null;
    }
    const due = this.now() + this.settings.unattachedTtlMs;
    this.store.sql.exec(
      `UPDATE files SET state = 'ready', name = ?, content_type = ?, size = ?, width = ?, height = ?, due_at = ?
       WHERE id = ?`,
      file.name,
      file.contentType,
      file.size,
      file.width,
      file.height,
      due,
      id,
    );
    this.alarm.request(due);
    return this.view({ id, ...file }, uploaderId);
  }

  /**
   * Checks the files a send names and claims them for it: each uploaded by the sender to this
   * conversation, finished, not sent before nor claimed by another send, each named once, at most
   * ATTACHMENTS_PER_MESSAGE. A refusal (422) claims nothing. `claimant` keys the send (a resend of
   * the same clientId in the same group may name the same files).
   */
  claim(senderId: string, claimant: string, ids: readonly string[]): AttachmentFields[] {
    const max = this.settings.perMessage;
    if (ids.length > max) {
      throw new ApiError("validation_failed", `A message carries at most ${max} attachments`, {
        details: [{ path: "attachments", message: `at most ${max}` }],
      });
    }
    const out: AttachmentFields[] = [];
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) throw invalid(`attachment ${id} is listed twice`, i);
      const row = this.row(id);
      if (!row || row.state === "deleting") {
        throw invalid(`attachment ${id} is not a file uploaded to this conversation (or it expired)`, i);
      }
      if (row.uploaderId !== senderId) throw invalid(`attachment ${id} was uploaded by someone else`, i);
      if (row.state === "uploading") throw invalid(`attachment ${id} has not finished uploading`, i);
      const holder = this.claims.get(id);
      if (row.state === "attached" || (holder !== undefined && holder !== claimant)) {
        throw invalid(`attachment ${id} was already sent with a message`, i);
      }
      out.push(row.fields);
    });
    for (const id of ids) this.claims.set(id, claimant);
    return out;
  }

  /** A claim that will not be stored (the send was a resend of a stored clientId). */
  unclaim(ids: readonly string[]): void {
    for (const id of ids) this.claims.delete(id);
  }

  /** Inside the commit's transaction: the files now belong to message `seq` and are no longer due. */
  attach(seq: number, ids: readonly string[]): void {
    this.store.sql.exec(
      `UPDATE files SET state = 'attached', message_seq = ?, due_at = NULL
       WHERE id IN (SELECT value FROM json_each(?))`,
      seq,
      JSON.stringify(ids),
    );
    this.unclaim(ids);
  }

  /** Inside a deletion's transaction: the message's files are due for deletion now. */
  detach(seq: number): void {
    const ids = this.store.sql
      .exec("SELECT id FROM files WHERE message_seq = ? AND state = 'attached'", seq)
      .toArray()
      .map((r) => str(r.id));
    if (ids.length > 0) this.markDeleting(ids);
  }

  /** The uploader deleted their account (erasure.ts): their files not sent yet are due now. */
  dropUploads(uploaderId: string): void {
    const ids = this.store.sql
      .exec("SELECT id FROM files WHERE uploader_id = ? AND state IN ('uploading', 'ready')", uploaderId)
      .toArray()
      .map((r) => str(r.id));
    if (ids.length > 0) this.markDeleting(ids);
  }

  /** The file `userId` may download: a sent file to any participant, an unsent one to its uploader. */
  served(userId: string, id: string): ServedFile {
    const row = this.row(id);
    const visible = row?.state === "attached" || (row?.state === "ready" && row.uploaderId === userId);
    if (!row || !visible) throw notFound("Attachment not found");
    return { ...row.fields, key: attachmentKey(this.conversationId, id) };
  }

  /** The alarm's part: deletes what is due, then asks for the next due time. */
  async sweepIfDue(): Promise<void> {
    const next = this.nextDue();
    if (next !== null && next <= this.now()) await this.sweep();
    else if (next !== null) this.alarm.request(next);
  }

  /**
   * Deletes the due files from R2, then their rows; one pass at a time. Rows are marked
   * `deleting` before the bucket is asked, so nothing can send a file being deleted.
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** The deletion under way, if any, once it is done (a REST deletion answers after its files go). */
  async sweepDone(): Promise<void> {
    await this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = this.now();
    const ids = this.store.sql
      .exec("SELECT id FROM files WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, DELETE_BATCH)
      .toArray()
      .map((r) => str(r.id));
    if (ids.length > 0) {
      this.markDeleting(ids, false);
      try {
        await this.bucket.delete(ids.map((id) => attachmentKey(this.conversationId, id)));
        this.store.sql.exec(
          "DELETE FROM files WHERE state = 'deleting' AND id IN (SELECT value FROM json_each(?))",
          JSON.stringify(ids),
        );
      } catch (err) {
        log("warn", "file_delete_failed", { conversationId: this.conversationId, ...describeError(err) });
        this.store.sql.exec(
          "UPDATE files SET due_at = ? WHERE id IN (SELECT value FROM json_each(?))",
          this.now() + DELETE_RETRY_MS,
          JSON.stringify(ids),
        );
      }
    }
    const next = this.nextDue();
    if (next !== null) this.alarm.request(next);
  }

  private markDeleting(ids: readonly string[], schedule = true): void {
    const now = this.now();
    this.store.sql.exec(
      "UPDATE files SET state = 'deleting', due_at = ? WHERE id IN (SELECT value FROM json_each(?))",
      now,
      JSON.stringify(ids),
    );
    this.unclaim(ids);
    if (schedule) this.alarm.request(now);
  }

  private nextDue(): number | null {
    const row = this.store.sql.exec("SELECT MIN(due_at) AS at FROM files").toArray()[0];
    return row?.at === null || row?.at === undefined ? null : num(row.at);
  }

  private row(id: string): { uploaderId: string; state: FileState; fields: AttachmentFields } | null {
    const r = this.store.sql.exec("SELECT * FROM files WHERE id = ?", id).toArray()[0];
    if (!r) return null;
    return {
      uploaderId: str(r.uploader_id),
      state: str(r.state) as FileState,
      fields: {
        id: str(r.id),
        name: strOrNull(r.name) ?? "",
        contentType: strOrNull(r.content_type) ?? "",
        size: num(r.size),
        width: r.width === null ? null : num(r.width),
        height: r.height === null ? null : num(r.height),
      },
    };
  }
}
