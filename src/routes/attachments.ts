import type { Context } from "hono";
import { fileKind, declaredType, isAllowedType, isInlineImage } from "../attachments/content-types";
import { FileLinks } from "../attachments/links";
import { contentDisposition, safeFileName } from "../attachments/names";
import { type Stored, TooLarge, attachmentKey, storeUpload } from "../attachments/store";
import { authenticate } from "../auth/credentials";
import { bearerToken } from "../auth/middleware";
import { limitsFrom } from "../config";
import { refundBudget, spendBudget } from "../durable/inbox/budget-client";
import { type RoomStub, callRoom } from "../durable/room/stub";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import type { AttachmentResponse } from "../protocol/responses";
import { sizeText } from "../protocol/text";

/**
 * The two attachment routes (README, "Attachments"). Upload: `POST /api/conversations/:id/attachments`
 * with the file as the body, its type as content-type and `?name=`; checked (size, allowed type,
 * participant) before anything is stored, streamed to R2, recognised by its bytes. Download:
 * `GET /api/conversations/:id/attachments/:attachmentId`, with a link signed for the reader (what a
 * message's `url` is) or the Bearer token, served only to a participant of now.
 */

const ATTACHMENT_ID = /^a_[0-9a-z]{20}$/;

/** The JSON body guard of app.ts leaves these requests alone: their body is a file. */
export const UPLOAD_PATH = /^\/api\/conversations\/[^/]+\/attachments\/?$/;

/** A file response may be shown by the browser only as what it is: no script, no plugin, no framing. */
const FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

const linksOf = (env: Env) => new FileLinks(env.JWT_SECRET, limitsFrom(env).attachmentUrlTtlSeconds);

/** The declared length, null when the body is chunked; a header that is no length is a 400. */
function declaredLength(header: string | undefined): number | null {
  if (header === undefined) return null;
  if (!/^\d{1,15}$/.test(header.trim())) throw new ApiError("bad_request", "Content-Length is not a length");
  return Number(header);
}

const tooLarge = (max: number) => `The file is too large: files are limited to ${sizeText(max)}`;

const emptyFile = () =>
  new ApiError("validation_failed", "The file is empty", {
    details: [{ path: "body", message: "no bytes" }],
  });

export async function uploadAttachment<E extends AppEnv>(
  c: Context<E>,
  room: { stub: RoomStub; userId: string; conversationId: string },
): Promise<Response> {
  const limits = c.get("limits");
  const max = limits.attachmentMaxBytes;
  const length = declaredLength(c.req.header("content-length"));
  // Refused before the body is read and before anything is recorded.
  if (length !== null && length > max) {
    throw new ApiError("payload_too_large", tooLarge(max));
  }
  const declared = declaredType(c.req.header("content-type"));
  if (!isAllowedType(declared, limits.attachmentTypes)) {
    throw new ApiError("validation_failed", `Files of type ${declared} are not accepted`, {
      details: [{ path: "content-type", message: `allowed: ${limits.attachmentTypes.join(", ")}` }],
    });
  }
  const body = c.req.raw.body;
  if (!body || length === 0) throw emptyFile();
  const { stub, userId, conversationId } = room;
  // Recorded by the room before the first byte is stored (404 for a non-participant).
  const id = await callRoom(stub.beginUpload(userId));
  const key = attachmentKey(conversationId, id);
  // The user's upload budget across all rooms (USER_UPLOAD_BYTES_PER_HOUR): a declared length is
  // paid before a byte is stored (and given back if nothing is kept), a chunked body once read.
  let paid = 0;
  const forget = () => {
    const undo: Promise<unknown>[] = [c.env.BUCKET.delete(key), stub.finishUpload(userId, id, null)];
    if (paid > 0) undo.push(refundBudget(c.env, userId, "uploadBytes", paid));
    c.executionCtx.waitUntil(Promise.allSettled(undo));
  };
  const pay = async (bytes: number) => {
    try {
      await spendBudget(c.env, userId, "uploadBytes", bytes);
    } catch (err) {
      forget();
      throw err;
    }
    paid = bytes;
  };
  if (length !== null) await pay(length);
  let stored: Stored;
  try {
    stored = await storeUpload(c.env.BUCKET, key, body, length, max);
  } catch (err) {
    forget();
    if (err instanceof TooLarge) throw new ApiError("payload_too_large", tooLarge(max));
    throw err;
  }
  if (stored.size === 0) {
    forget();
    throw emptyFile();
  }
  if (length === null) await pay(stored.size);
  const kind = fileKind(declared, stored.head, limits.attachmentTypes);
  const name = safeFileName(c.req.query("name"), kind.contentType, limits.attachmentNameMaxChars);
  let attachment;
  try {
    attachment = await callRoom(stub.finishUpload(userId, id, { name, ...kind, size: stored.size }));
  } catch (err) {
    forget();
    throw err;
  }
  if (!attachment) throw new Error("the room dropped a finished upload");
  return c.json({ attachment } satisfies AttachmentResponse, 201);
}

/**
 * Serves a file to a participant of now: the one a signed link names (`u`, `e`, `s`), or the
 * Bearer token's user. Anything else, a bad or expired signature included, is the 404 of a file
 * that does not exist.
 */
export async function serveAttachment(
  c: Context<AppEnv>,
  room: { stub: RoomStub; conversationId: string },
): Promise<Response> {
  const attachmentId = c.req.param("attachmentId") ?? "";
  if (!ATTACHMENT_ID.test(attachmentId)) throw notFound("Attachment not found");
  const signature = c.req.query("s");
  let userId: string;
  if (signature !== undefined) {
    const params = { u: c.req.query("u") ?? "", e: c.req.query("e") ?? "", s: signature };
    const viewer = linksOf(c.env).verify(room.conversationId, attachmentId, params);
    if (viewer === null) throw notFound("Attachment not found");
    userId = viewer;
  } else {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new ApiError("unauthorized", "A signed link or an access token is required");
    userId = (await authenticate(c, token)).userId;
  }
  const file = await callRoom(room.stub.attachment(userId, attachmentId));
  const object = await c.env.BUCKET.get(file.key);
  if (!object) throw notFound("Attachment not found");
  const inline = isInlineImage(file.contentType) && file.width !== null;
  const headers = new Headers({
    "content-type": file.contentType,
    "content-length": String(object.size),
    "content-disposition": contentDisposition(inline, file.name),
    "content-security-policy": FILE_CSP,
    etag: object.httpEtag,
    // A signed link is the reader's own and changes every window: the browser may keep the file
    // that long. A Bearer download is not kept.
    "cache-control": signature !== undefined ? `private, max-age=${linksOf(c.env).cacheSeconds}` : "no-store",
  });
  return new Response(c.req.method === "HEAD" ? null : object.body, { headers });
}
