import { INLINE_IMAGE_TYPES, type ImageType, sniffImage } from "./sniff";

/**
 * What kind of file an upload is. The declared type (the request's content-type) must be on the
 * allow-list (ATTACHMENT_TYPES) before anything is stored; what the file is kept as is decided by
 * its bytes: a PNG, JPEG, GIF or WebP is that image (with its size), whatever was declared; an
 * image type whose bytes are no such image is a plain `application/octet-stream` file, never
 * shown inline; any other allowed type is kept as declared and only ever downloaded.
 */

export const PLAIN_FILE = "application/octet-stream";

/** A type as a header carries it, lower-cased, without parameters; a missing one is a plain file. */
export function declaredType(header: string | undefined): string {
  const type = (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "" ? PLAIN_FILE : type;
}

/** Whether the allow-list names this type, exactly or by its family ("text/*"). */
export function isAllowedType(type: string, allowed: readonly string[]): boolean {
  const family = `${type.split("/")[0]}/*`;
  return allowed.includes(type) || allowed.includes(family) || allowed.includes("*/*");
}

export interface FileKind {
  contentType: string;
  width: number | null;
  height: number | null;
}

/** What the file is kept and served as, from its declared type and its first bytes. */
export function fileKind(declared: string, head: Uint8Array, allowed: readonly string[]): FileKind {
  const image = sniffImage(head);
  if (image && isAllowedType(image.type, allowed)) {
    return { contentType: image.type, width: image.width, height: image.height };
  }
  if (declared.startsWith("image/")) return { contentType: PLAIN_FILE, width: null, height: null };
  return { contentType: declared, width: null, height: null };
}

/** Whether a stored type is a picture the client shows inline (and the server serves inline). */
export function isInlineImage(contentType: string): contentType is ImageType {
  return (INLINE_IMAGE_TYPES as readonly string[]).includes(contentType);
}
