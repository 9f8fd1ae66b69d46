/**
 * The first bytes of image files, built from the formats' specifications: enough for a header
 * parser (and for the server's sniffing), padded with filler where a real file has pixel data.
 */

const bytes = (...parts: (number[] | Uint8Array | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "string") for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
};
const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const le16 = (n: number) => [n & 0xff, (n >> 8) & 0xff];
const le24 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff];
const le32 = (n: number) => [...le16(n & 0xffff), ...le16(n >>> 16)];
const filler = (n: number) => Array.from({ length: n }, () => 0x5a);

export function png(width: number, height: number, extra = 32): Uint8Array {
  return bytes(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    be32(13),
    "IHDR",
    be32(width),
    be32(height),
    [8, 6, 0, 0, 0],
    be32(0), // CRC (not checked by a header parser)
    filler(extra),
  );
}

export function gif(width: number, height: number): Uint8Array {
  return bytes("GIF89a", le16(width), le16(height), [0xf7, 0, 0], filler(16), [0x3b]);
}

export function webpLossy(width: number, height: number): Uint8Array {
  return bytes(
    "RIFF",
    le32(30),
    "WEBP",
    "VP8 ",
    le32(18),
    [0, 0, 0],
    [0x9d, 0x01, 0x2a],
    le16(width),
    le16(height),
    filler(8),
  );
}

export function webpLossless(width: number, height: number): Uint8Array {
  const bits = (width - 1) | ((height - 1) << 14);
  return bytes("RIFF", le32(30), "WEBP", "VP8L", le32(10), [0x2f], le32(bits), filler(8));
}

export function webpExtended(width: number, height: number): Uint8Array {
  return bytes(
    "RIFF",
    le32(30),
    "WEBP",
    "VP8X",
    le32(10),
    [0, 0, 0, 0],
    le24(width - 1),
    le24(height - 1),
    filler(8),
  );
}

/**
 * A JPEG: SOI, an APP0, optionally an APP1 Exif segment with an orientation (little-endian TIFF),
 * `metadata` bytes of another segment (a large one pushes the frame header far in), then SOF0.
 */
export function jpeg(
  width: number,
  height: number,
  options: { orientation?: number; metadata?: number } = {},
) {
  const app0 = bytes([0xff, 0xe0], be16(16), "JFIF\0", [1, 1, 0], be16(1), be16(1), [0, 0]);
  const exif =
    options.orientation === undefined
      ? bytes()
      : (() => {
          // TIFF header (II, 42, IFD at 8), one entry: tag 0x0112, SHORT, count 1, value.
          const tiff = bytes(
            "II",
            le16(42),
            le32(8),
            le16(1),
            le16(0x0112),
            le16(3),
            le32(1),
            le16(options.orientation),
            [0, 0],
            le32(0),
          );
          return bytes([0xff, 0xe1], be16(2 + 6 + tiff.length), "Exif\0\0", tiff);
        })();
  const meta = options.metadata
    ? bytes([0xff, 0xe2], be16(2 + options.metadata), filler(options.metadata))
    : bytes();
  const sof = bytes(
    [0xff, 0xc0],
    be16(17),
    [8],
    be16(height),
    be16(width),
    [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1],
  );
  return bytes([0xff, 0xd8], app0, exif, meta, sof, [0xff, 0xda], filler(16), [0xff, 0xd9]);
}

/** Text that claims to be anything. */
export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
