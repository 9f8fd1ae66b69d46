/**
 * File names as people send them (`?name=`) made safe to show and to hand back in a download:
 * one line, no path, nothing that reorders or hides characters, no character a file system or a
 * header refuses. A name is repaired, never refused: whatever was sent, the file keeps a usable
 * name (a pasted image without one is "image.png").
 */

// oxlint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"*/:<>?\\|]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The usual extension of the types a name may be made up for. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "application/pdf": "pdf",
  "text/plain": "txt",
  "text/csv": "csv",
  "application/zip": "zip",
  "application/json": "json",
};

/** A name to show and to download under, at most `maxChars` characters (code points). */
export function safeFileName(raw: string | undefined, contentType: string, maxChars: number): string {
  // The last part of a path ("C:\\Users\\me\\photo.jpg", "../../etc/passwd"): never a directory.
  const base = (raw ?? "").split(/[/\\]/).pop() ?? "";
  let name = base
    .replace(LONE_SURROGATE, "")
    .normalize("NFC")
    .replace(UNSAFE, "_")
    .replace(/\s+/g, " ")
    .trim()
    // A leading dot hides a file on most systems; dots and spaces at the end are dropped by Windows.
    .replace(/^[.\s]+/, "")
    .replace(/[.\s]+$/, "");
  if (!/[^_\s]/.test(name)) name = "";
  if (!name) {
    const ext = EXTENSIONS[contentType];
    name = contentType.startsWith("image/") ? `image${ext ? `.${ext}` : ""}` : `file${ext ? `.${ext}` : ""}`;
  }
  return truncate(name, maxChars);
}

/** Cuts a long name in the middle of its stem, keeping its extension ("very-long….pdf"). */
function truncate(name: string, maxChars: number): string {
  const chars = [...name];
  if (chars.length <= maxChars) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? Array.from(name.slice(dot)) : [];
  if (ext.length > 0 && ext.length <= 10 && ext.length < maxChars - 1) {
    return `${chars.slice(0, maxChars - ext.length - 1).join("")}…${ext.join("")}`;
  }
  return chars.slice(0, maxChars).join("");
}

/**
 * The Content-Disposition of a download (RFC 6266): `inline` only for pictures the client shows,
 * `attachment` for everything else, so the browser saves it rather than rendering it. The name in
 * ASCII for old clients, and in full as RFC 5987 `filename*`.
 */
export function contentDisposition(inline: boolean, name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
