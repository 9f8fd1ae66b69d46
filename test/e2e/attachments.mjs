// Attachments in the browser: a picture and a file chosen with the attach button upload with a
// progress bar and go with the next message; the other person sees the picture render (its box
// reserved from the width and height before it loads) and the file as a download link; a picture
// dropped on the conversation and one pasted into the box upload too; a type the server refuses
// shows its error in the tray. Screenshots (desktop and phone) go to screenshots/.

import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import {
  SHOTS,
  api,
  assert,
  desktop,
  openPage,
  person,
  phone,
  screenshot,
  signIn,
  step,
  until,
} from "./helpers.mjs";

export const name = "attachments: upload, progress, inline pictures, files, drop, paste, refusals";

/** One PNG chunk: length, type, data and the CRC of type and data. */
function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real PNG (RGB, 8 bits), drawn by `pixel(x, y)` → [r, g, b]. */
function pngImage(width, height, pixel) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set(pixel(x, y), 1 + x * 3);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A sunset over the sea: something a person would send. */
const sunset = () =>
  pngImage(480, 320, (x, y) => {
    if (y > 200) {
      const wave = Math.sin(x / 9 + y / 3) > 0.6 ? 30 : 0;
      return [20 + wave, 60 + wave + (y - 200) / 3, 120 + wave];
    }
    const sun = (x - 300) ** 2 + (y - 170) ** 2 < 45 ** 2;
    if (sun) return [255, 214, 120];
    return [250 - y / 2, 120 + y / 3, 90 + y / 4];
  });

/** A small square, for the dropped and pasted ones. */
const tile = (r, g, b) =>
  pngImage(64, 64, (x, y) => (((x >> 3) + (y >> 3)) % 2 ? [r, g, b] : [255, 255, 255]));

/** The message row whose text contains `text`. */
const row = (page, text) =>
  page
    .locator(".thread .msg[data-seq]")
    .filter({ has: page.locator(".bubble > .body", { hasText: text }) })
    .last();

/** Dispatches a drop (or a paste) of files made in the page, as a person dragging them would. */
function dispatchFiles(page, selector, kind, files) {
  return page.evaluate(
    ({ where, how, made }) => {
      const dt = new DataTransfer();
      for (const f of made) dt.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }));
      const target = document.querySelector(where);
      if (!target) throw new Error(`no ${where}`);
      if (how === "paste") {
        target.dispatchEvent(
          new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }),
        );
        return;
      }
      for (const type of ["dragover", "drop"]) {
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    },
    { where: selector, how: kind, made: files.map((f) => ({ ...f, bytes: [...f.bytes] })) },
  );
}

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const iris = person("Iris", "Murdoch", tag);
  const otto = person("Otto", "Lilienthal", tag);
  const register = (who) => api(base, "POST", "/api/auth/register", null, who);
  const [i, o] = [await register(iris), await register(otto)];
  const { conversation } = await api(base, "POST", "/api/conversations", i.token, {
    participantIds: [o.user.id],
  });
  const id = conversation.id;
  await api(base, "POST", `/api/conversations/${id}/messages`, o.token, {
    body: "How was the trip? Send pictures!",
  });
  step("set up a direct conversation over REST");

  const { page: pageI } = await openPage(browser, "I", desktop, problems);
  const { page: pageO } = await openPage(browser, "O", phone, problems);
  try {
    await signIn(pageI, base, iris);
    await signIn(pageO, base, otto);
    for (const page of [pageI, pageO]) {
      await page.locator(`.conv[data-conversation-id="${id}"]`).click();
      await page.locator('.thread .conn[data-state="open"]').waitFor();
    }

    // I chooses a picture and a file with the attach button: each shows in the tray with a
    // progress bar, then as uploaded; the message goes with both.
    const composerI = pageI.getByLabel("Message", { exact: true });
    await pageI.locator(".composer input[type=file]").setInputFiles([
      { name: "sunset.png", mimeType: "image/png", buffer: sunset() },
      {
        name: "itinerary.pdf",
        mimeType: "application/pdf",
        buffer: Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(180_000, 32)]),
      },
    ]);
    await pageI.locator(".uploads .upload progress").first().waitFor({ state: "attached" });
    await until(
      "both uploads to finish",
      async () => (await pageI.locator('.upload[data-state="done"]').count()) === 2,
    );
    await composerI.fill("Here it is, the last evening 🌅");
    await composerI.press("Enter");
    assert(await pageI.locator(".uploads").isHidden(), "the tray stayed after sending");
    step("I attached a picture and a PDF (progress, then done) and sent them with a message");

    // O sees the picture render, in a box reserved from its size, and the file as a link.
    const onO = row(pageO, "the last evening");
    const img = onO.locator(".picture img");
    await img.waitFor();
    const box = await img.evaluate((el) => ({ w: el.getAttribute("width"), h: el.getAttribute("height") }));
    assert(
      box.w === "320" && box.h === "213",
      `the picture's box is not reserved from its size: ${JSON.stringify(box)}`,
    );
    await until("the picture to load", () => img.evaluate((el) => el.complete && el.naturalWidth === 480));
    const link = onO.locator("a.file", { hasText: "itinerary.pdf" });
    await link.waitFor();
    assert((await link.getAttribute("download")) === "itinerary.pdf", "the file link does not download");
    const src = await img.getAttribute("src");
    assert(src?.includes(`u=${o.user.id}`), `O's picture link is not O's own: ${src}`);
    step("O saw the picture render live (its box reserved) and the PDF as a download link");

    // A picture dropped on the conversation, and one pasted into the box, upload and go.
    await dispatchFiles(pageI, ".thread", "drop", [
      { name: "dropped.png", type: "image/png", bytes: tile(40, 120, 200) },
    ]);
    await dispatchFiles(pageI, ".composer-input", "paste", [
      { name: "", type: "image/png", bytes: tile(220, 60, 90) },
    ]);
    await until(
      "the dropped and pasted pictures to upload",
      async () => (await pageI.locator('.upload[data-state="done"]').count()) === 2,
    );
    await pageI.locator(".upload .thumb").first().waitFor();
    await composerI.press("Enter");
    const twoPictures = pageO.locator(".thread .msg[data-seq]").last().locator(".picture img");
    await until("O to see both pictures", async () => (await twoPictures.count()) === 2);
    step("a dropped picture and a pasted one uploaded and reached O");

    // A type the server refuses: the tray says why, and nothing is sent with it.
    await pageI.locator(".composer input[type=file]").setInputFiles([
      {
        name: "drawing.svg",
        mimeType: "image/svg+xml",
        buffer: Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>"),
      },
    ]);
    await pageI.locator('.upload[data-state="failed"] .upload-status', { hasText: "not accepted" }).waitFor();
    await screenshot(pageI, "i-desktop-upload-refused.png");
    await pageI.getByRole("button", { name: "Remove drawing.svg" }).click();
    assert(await pageI.locator(".uploads").isHidden(), "the refused file stayed in the tray");
    step("an SVG was refused by the server and the tray said so");

    await row(pageO, "the last evening").scrollIntoViewIfNeeded();
    await screenshot(pageO, "o-phone-attachments.png");
    await row(pageI, "the last evening").scrollIntoViewIfNeeded();
    await screenshot(pageI, "i-desktop-attachments.png");
    // The README's picture: the conversation pane alone.
    await pageI.locator(".thread").screenshot({ path: join(SHOTS, "readme-attachments.png") });
  } catch (err) {
    await screenshot(pageI, "failure-attachments-i.png").catch(() => undefined);
    await screenshot(pageO, "failure-attachments-o.png").catch(() => undefined);
    throw err;
  }
}
