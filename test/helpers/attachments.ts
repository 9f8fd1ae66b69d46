import { env, exports } from "cloudflare:workers";
import type { Attachment, Message } from "../../src/protocol/models";
import { BASE, api } from "./api";

export interface UploadResult {
  status: number;
  body: { attachment: Attachment } & { error?: { code: string; message: string } };
}

/**
 * Uploads `data` as a client would: the raw bytes as the body, their type as content-type,
 * `?name=`. A ReadableStream body goes chunked (no Content-Length).
 */
export async function upload(
  token: string,
  conversationId: string,
  data: Uint8Array | ReadableStream<Uint8Array>,
  type: string | null,
  name?: string,
  headers: Record<string, string> = {},
): Promise<UploadResult> {
  const query = name === undefined ? "" : `?name=${encodeURIComponent(name)}`;
  const h = new Headers({ authorization: `Bearer ${token}`, ...headers });
  if (type !== null) h.set("content-type", type);
  const res = await exports.default.fetch(
    new Request(`${BASE}/api/conversations/${conversationId}/attachments${query}`, {
      method: "POST",
      headers: h,
      body: data,
    }),
  );
  return { status: res.status, body: (await res.json()) as UploadResult["body"] };
}

/** Uploads and expects a 201: the attachment. */
export async function uploaded(
  token: string,
  conversationId: string,
  data: Uint8Array,
  type: string,
  name?: string,
): Promise<Attachment> {
  const res = await upload(token, conversationId, data, type, name);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.attachment;
}

/** Sends a message with files over REST. */
export function sendFiles(
  token: string,
  conversationId: string,
  ids: string[],
  body = "",
  clientId?: string,
) {
  return api<{ message: Message }>("POST", `/api/conversations/${conversationId}/messages`, {
    token,
    body: clientId === undefined ? { body, attachments: ids } : { body, attachments: ids, clientId },
  });
}

/** GETs a file's link (as a browser would: no credentials but the link), or its path with a token. */
export async function download(
  url: string,
  token?: string,
): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const headers = new Headers();
  if (token) headers.set("authorization", `Bearer ${token}`);
  const res = await exports.default.fetch(new Request(new URL(url, BASE), { headers }));
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** The keys R2 holds for a conversation's files. */
export async function storedKeys(conversationId: string): Promise<string[]> {
  const listed = await env.BUCKET.list({ prefix: `attachments/${conversationId}/` });
  return listed.objects.map((o) => o.key);
}

/** A stream of `chunks` chunks of `size` bytes, with no declared length. */
export function chunked(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) {
        controller.close();
        return;
      }
      sent++;
      controller.enqueue(new Uint8Array(size).fill(0x41));
    },
  });
}
