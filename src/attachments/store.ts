/**
 * An upload's bytes into R2, never more than the limit. A request that declares its length is
 * refused before this runs when the length is over the limit; otherwise the body streams straight
 * into the bucket (R2 takes a stream of known length: FixedLengthStream), counted as it goes. A
 * body of unknown length (chunked) is read into memory up to the limit and stored once complete:
 * the first byte over the limit stops the read, and nothing was stored. Either way an R2 write
 * that does not complete stores nothing. The file's first bytes are kept to tell what it is
 * (content-types.ts).
 */

/** Bytes of a file's beginning kept to recognise it: a JPEG's frame header comes after its metadata. */
export const HEAD_BYTES = 256 * 1024;

/** Where a conversation's file is kept in the bucket. */
export const attachmentKey = (conversationId: string, attachmentId: string): string =>
  `attachments/${conversationId}/${attachmentId}`;

export class TooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`Files are limited to ${maxBytes} bytes`);
    this.name = "TooLarge";
  }
}

export interface Stored {
  size: number;
  /** The first HEAD_BYTES of the file (all of it when smaller). */
  head: Uint8Array;
}

/** Keeps the first `max` bytes of a stream as they pass. */
class Head {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  constructor(private readonly max: number) {}

  add(chunk: Uint8Array): void {
    if (this.length >= this.max) return;
    const part = chunk.subarray(0, this.max - this.length);
    this.parts.push(part.slice());
    this.length += part.byteLength;
  }

  bytes(): Uint8Array {
    return concat(this.parts, this.length);
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Stores `body` at `key`; throws TooLarge (nothing stored) past `maxBytes`. */
export async function storeUpload(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  declaredLength: number | null,
  maxBytes: number,
): Promise<Stored> {
  const head = new Head(HEAD_BYTES);
  if (declaredLength === null) {
    const parts: Uint8Array[] = [];
    let size = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new TooLarge(maxBytes);
      }
      parts.push(value);
      head.add(value);
    }
    await bucket.put(key, concat(parts, size));
    return { size, head: head.bytes() };
  }
  let size = 0;
  const counted = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        controller.error(new TooLarge(maxBytes));
        return;
      }
      head.add(chunk);
      controller.enqueue(chunk);
    },
  });
  const fixed = new FixedLengthStream(declaredLength);
  const [piped, put] = await Promise.allSettled([
    body.pipeThrough(counted).pipeTo(fixed.writable),
    bucket.put(key, fixed.readable),
  ]);
  // The body's failure (too large, the client went away) explains the write's.
  if (piped.status === "rejected") throw piped.reason;
  if (put.status === "rejected") throw put.reason;
  return { size, head: head.bytes() };
}
