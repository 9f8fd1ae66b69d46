/**
 * Recognises the four image formats the web client shows inline (PNG, JPEG, GIF, WebP) by their
 * first bytes, never by what the uploader declared, and reads their width and height from the
 * header. No image library: the header layouts are fixed by each format's specification, and only
 * what a browser needs to reserve the picture's box is read. JPEG's dimensions are in its frame
 * header, after whatever metadata segments come first; a JPEG whose frame header is not within
 * the bytes given here is not recognised (it is kept as a plain file).
 */

export type ImageType = "image/png" | "image/jpeg" | "image/gif" | "image/webp";

export interface SniffedImage {
  type: ImageType;
  /** As displayed: a JPEG's EXIF orientation that turns it by 90° swaps the stored two. */
  width: number;
  height: number;
}

export const INLINE_IMAGE_TYPES: readonly ImageType[] = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
];

/** The largest side a browser is asked to reserve: the formats' own ceilings are 2^31 (PNG). */
const MAX_SIDE = 65_535 * 4;

const startsWith = (b: Uint8Array, bytes: readonly number[], at = 0): boolean =>
  b.length >= at + bytes.length && bytes.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, text: string, at = 0): boolean =>
  startsWith(
    b,
    [...text].map((c) => c.charCodeAt(0)),
    at,
  );
const u16be = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const u16le = (b: Uint8Array, at: number): number => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, at: number): number => u16le(b, at) | ((b[at + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, at: number): number => u16be(b, at) * 0x10000 + u16be(b, at + 2);
const u32le = (b: Uint8Array, at: number): number => u16le(b, at) + u16le(b, at + 2) * 0x10000;

/** The image these bytes begin, with its size; null for anything else (or a header that is broken). */
export function sniffImage(head: Uint8Array): SniffedImage | null {
  const found = png(head) ?? gif(head) ?? webp(head) ?? jpeg(head);
  if (!found) return null;
  const { width, height } = found;
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) return null;
  return found;
}

function png(b: Uint8Array): SniffedImage | null {
  // The signature, then the IHDR chunk first (length 13): width and height, big-endian.
  if (!startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) || !ascii(b, "IHDR", 12)) return null;
  if (b.length < 24) return null;
  return { type: "image/png", width: u32be(b, 16), height: u32be(b, 20) };
}

function gif(b: Uint8Array): SniffedImage | null {
  if (!(ascii(b, "GIF87a") || ascii(b, "GIF89a")) || b.length < 10) return null;
  // The logical screen's size, little-endian.
  return { type: "image/gif", width: u16le(b, 6), height: u16le(b, 8) };
}

function webp(b: Uint8Array): SniffedImage | null {
  if (!ascii(b, "RIFF") || !ascii(b, "WEBP", 8) || b.length < 30) return null;
  if (ascii(b, "VP8 ", 12)) {
    // Lossy: a key frame's start code, then 14-bit width and height (2 bits of scaling above).
    if (!startsWith(b, [0x9d, 0x01, 0x2a], 23)) return null;
    return { type: "image/webp", width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (ascii(b, "VP8L", 12)) {
    // Lossless: a signature byte, then width-1 and height-1 in 14 bits each.
    if (b[20] !== 0x2f) return null;
    const bits = u32le(b, 21);
    return { type: "image/webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (ascii(b, "VP8X", 12)) {
    // Extended: the canvas's width-1 and height-1 in 24 bits each.
    return { type: "image/webp", width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  }
  return null;
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): not DHT (C4), JPG (C8), DAC (CC). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpeg(b: Uint8Array): SniffedImage | null {
  if (!startsWith(b, [0xff, 0xd8, 0xff])) return null;
  let at = 2;
  let orientation = 1;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1] ?? 0;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // Markers without a length: TEM and the restart markers.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    // The scan (or the image's end) before any frame header: not an image a browser would show.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = u16be(b, at + 2);
    if (length < 2) return null;
    if (SOF.has(marker)) {
      if (at + 9 > b.length) return null;
      const height = u16be(b, at + 5);
      const width = u16be(b, at + 7);
      // EXIF orientations 5 to 8 turn the picture by 90°: browsers show it turned (image-orientation).
      const turned = orientation >= 5 && orientation <= 8;
      return { type: "image/jpeg", width: turned ? height : width, height: turned ? width : height };
    }
    if (marker === 0xe1) orientation = exifOrientation(b, at + 4, at + 2 + length) ?? orientation;
    at += 2 + length;
  }
  return null;
}

/** The orientation tag (0x0112) of an APP1 "Exif" segment's first IFD, between `from` and `to`. */
function exifOrientation(b: Uint8Array, from: number, to: number): number | null {
  if (!ascii(b, "Exif\0\0", from)) return null;
  const tiff = from + 6;
  const end = Math.min(to, b.length);
  const little = ascii(b, "II", tiff);
  if (!little && !ascii(b, "MM", tiff)) return null;
  const u16 = (at: number) => (little ? u16le(b, at) : u16be(b, at));
  const u32 = (at: number) => (little ? u32le(b, at) : u32be(b, at));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return null;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return null;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return null;
}
