/**
 * The UTF-8 size of a string without encoding it: what a statement's bound text costs against the
 * platform's byte limits (2 MB per string or row in D1 and in an object's SQLite).
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    // 0x80–0x7ff: 2 bytes; a surrogate pair (2 units) is 4 bytes; the rest of the BMP is 3.
    bytes += c < 0x800 ? 1 : c >= 0xd800 && c <= 0xdbff ? 1 : c >= 0xdc00 && c <= 0xdfff ? 1 : 2;
  }
  return bytes;
}
