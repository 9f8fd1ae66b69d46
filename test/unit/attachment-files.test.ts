import { describe, expect, it } from "vitest";
import { fileKind, isAllowedType } from "../../src/attachments/content-types";
import { FileLinks } from "../../src/attachments/links";
import { contentDisposition, safeFileName } from "../../src/attachments/names";
import { sniffImage } from "../../src/attachments/sniff";
import { gif, jpeg, png, text, webpExtended, webpLossless, webpLossy } from "../helpers/files";

const ALLOWED = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/*"];

describe("recognising images by their bytes", () => {
  it("reads the width and height of PNG, GIF and the three kinds of WebP", () => {
    expect(sniffImage(png(800, 600))).toEqual({ type: "image/png", width: 800, height: 600 });
    expect(sniffImage(gif(320, 200))).toEqual({ type: "image/gif", width: 320, height: 200 });
    expect(sniffImage(webpLossy(640, 480))).toEqual({ type: "image/webp", width: 640, height: 480 });
    expect(sniffImage(webpLossless(1000, 1))).toEqual({ type: "image/webp", width: 1000, height: 1 });
    expect(sniffImage(webpExtended(4096, 3000))).toEqual({ type: "image/webp", width: 4096, height: 3000 });
  });

  it("reads a JPEG's frame header past its metadata, turned as its EXIF orientation shows it", () => {
    expect(sniffImage(jpeg(1200, 900))).toEqual({ type: "image/jpeg", width: 1200, height: 900 });
    expect(sniffImage(jpeg(1200, 900, { metadata: 60_000 }))).toEqual({
      type: "image/jpeg",
      width: 1200,
      height: 900,
    });
    // Orientation 6 (a phone held upright): shown 900 wide, 1200 high.
    expect(sniffImage(jpeg(1200, 900, { orientation: 6 }))).toEqual({
      type: "image/jpeg",
      width: 900,
      height: 1200,
    });
    expect(sniffImage(jpeg(1200, 900, { orientation: 3 }))).toMatchObject({ width: 1200, height: 900 });
  });

  it("recognises nothing in text, truncated headers or zero sizes", () => {
    expect(sniffImage(text("this is not a PNG at all, just words"))).toBeNull();
    expect(sniffImage(png(10, 10).subarray(0, 20))).toBeNull();
    expect(sniffImage(jpeg(10, 10).subarray(0, 25))).toBeNull();
    expect(sniffImage(png(0, 10))).toBeNull();
    expect(sniffImage(gif(10, 0))).toBeNull();
    expect(sniffImage(new Uint8Array())).toBeNull();
  });
});

describe("what an upload is kept as", () => {
  it("believes the bytes, not the declared type", () => {
    expect(fileKind("image/png", png(3, 2), ALLOWED)).toEqual({
      contentType: "image/png",
      width: 3,
      height: 2,
    });
    expect(fileKind("image/jpeg", gif(5, 4), ALLOWED)).toEqual({
      contentType: "image/gif",
      width: 5,
      height: 4,
    });
    // An image type that is no image is a plain file, never shown inline.
    expect(fileKind("image/png", text("<script>alert(1)</script>"), ALLOWED)).toEqual({
      contentType: "application/octet-stream",
      width: null,
      height: null,
    });
    expect(fileKind("application/pdf", text("%PDF-1.7"), ALLOWED)).toEqual({
      contentType: "application/pdf",
      width: null,
      height: null,
    });
  });

  it("allows exact types and families from the list", () => {
    expect(isAllowedType("application/pdf", ALLOWED)).toBe(true);
    expect(isAllowedType("text/csv", ALLOWED)).toBe(true);
    expect(isAllowedType("image/svg+xml", ALLOWED)).toBe(false);
    expect(isAllowedType("application/x-msdownload", ALLOWED)).toBe(false);
  });
});

describe("file names", () => {
  it("keeps the last part of a path, without controls, reordering characters or reserved ones", () => {
    expect(safeFileName("C:\\Users\\me\\photo.jpg", "image/jpeg", 200)).toBe("photo.jpg");
    expect(safeFileName("../../etc/passwd", "text/plain", 200)).toBe("passwd");
    expect(safeFileName("invoice\u202Efdp.exe", "application/pdf", 200)).toBe("invoice_fdp.exe");
    expect(safeFileName('a"b<c>|d?.txt', "text/plain", 200)).toBe("a_b_c__d_.txt");
    expect(safeFileName("line\nbreak\t.txt", "text/plain", 200)).toBe("line_break_.txt");
    expect(safeFileName(".hidden", "text/plain", 200)).toBe("hidden");
    expect(safeFileName("\ud800broken.txt", "text/plain", 200)).toBe("broken.txt");
  });

  it("names a file that came without one by its type", () => {
    expect(safeFileName(undefined, "image/png", 200)).toBe("image.png");
    expect(safeFileName("   ", "application/pdf", 200)).toBe("file.pdf");
    expect(safeFileName("///", "application/octet-stream", 200)).toBe("file");
  });

  it("shortens a long name in its stem, keeping the extension", () => {
    const name = safeFileName(`${"x".repeat(300)}.pdf`, "application/pdf", 50);
    expect([...name]).toHaveLength(50);
    expect(name.endsWith("….pdf")).toBe(true);
  });

  it("hands names back in Content-Disposition as ASCII and in full (RFC 5987)", () => {
    expect(contentDisposition(false, "Résumé (final).pdf")).toBe(
      `attachment; filename="R_sum_ (final).pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29.pdf`,
    );
    expect(contentDisposition(true, "a.png")).toMatch(/^inline; /);
  });
});

function params(url: string) {
  const q = new URL(url, "https://x").searchParams;
  return { u: q.get("u") ?? "", e: q.get("e") ?? "", s: q.get("s") ?? "" };
}

describe("signed file links", () => {
  const now = 1_700_000_000_000;
  const links = new FileLinks(
    "first-secret-0123456789abcdefghijkl,old-secret-0123456789abcdefghijklm",
    3600,
    () => now,
  );

  it("names the reader, is the same within a window and valid for one to two windows", () => {
    const url = links.url("c_1", "a_1", "u_ann");
    expect(url).toMatch(/^\/api\/conversations\/c_1\/attachments\/a_1\?u=u_ann&e=\d+&s=/);
    expect(links.url("c_1", "a_1", "u_ann")).toBe(url);
    const expires = Number(params(url).e) * 1000;
    expect(expires - now).toBeGreaterThan(3600_000);
    expect(expires - now).toBeLessThanOrEqual(7200_000);
    expect(links.verify("c_1", "a_1", params(url))).toBe("u_ann");
  });

  it("refuses another reader, another file, a changed expiry and an expired link", () => {
    const p = params(links.url("c_1", "a_1", "u_ann"));
    expect(links.verify("c_1", "a_1", { ...p, u: "u_bob" })).toBeNull();
    expect(links.verify("c_1", "a_2", p)).toBeNull();
    expect(links.verify("c_2", "a_1", p)).toBeNull();
    expect(links.verify("c_1", "a_1", { ...p, e: String(Number(p.e) + 3600) })).toBeNull();
    const later = new FileLinks("first-secret-0123456789abcdefghijkl", 3600, () => Number(p.e) * 1000 + 1);
    expect(later.verify("c_1", "a_1", p)).toBeNull();
  });

  it("verifies links signed with an older secret during a rotation", () => {
    const old = new FileLinks("old-secret-0123456789abcdefghijklm", 3600, () => now);
    const p = params(old.url("c_1", "a_1", "u_ann"));
    expect(links.verify("c_1", "a_1", p)).toBe("u_ann");
    const rotatedOut = new FileLinks("first-secret-0123456789abcdefghijkl", 3600, () => now);
    expect(rotatedOut.verify("c_1", "a_1", p)).toBeNull();
  });

  it("is the bare path for nobody in particular", () => {
    expect(links.url("c_1", "a_1", null)).toBe("/api/conversations/c_1/attachments/a_1");
  });
});
