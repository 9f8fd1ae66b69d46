import type { Attachment } from "../../protocol/models";
import { sizeText } from "../../protocol/text";
import type { ApiError } from "../api";
import { h, iconButton, onClick, svgIcon } from "../dom";

/**
 * Files in the thread: pictures inline in a box of their own size (reserved before they load, so
 * the list does not jump), other files as download links with their name and size; and the tray
 * of files being uploaded for the next message, each with its progress and any refusal.
 */

/** The largest side a picture is shown with in a message. */
const PICTURE_MAX = 320;

const isPicture = (f: Attachment): boolean => f.width !== null && f.height !== null;

/** The files of a message, or null when it has none; `onError`: a picture did not load. */
export function renderAttachments(files: readonly Attachment[], onError?: () => void): HTMLElement | null {
  if (files.length === 0) return null;
  return h(
    "div",
    { class: "files" },
    ...files.map((f) => (isPicture(f) ? picture(f, onError) : fileLink(f))),
  );
}

function picture(f: Attachment, onError?: () => void): HTMLElement {
  const w = f.width ?? 1;
  const ht = f.height ?? 1;
  const scale = Math.min(1, PICTURE_MAX / w, PICTURE_MAX / ht);
  // width/height give the box its size and ratio before a byte arrives; CSS narrows it on a phone.
  const img = h("img", {
    src: f.url,
    alt: f.name,
    width: Math.max(1, Math.round(w * scale)),
    height: Math.max(1, Math.round(ht * scale)),
    loading: "lazy",
    decoding: "async",
  });
  if (onError) img.addEventListener("error", onError, { once: true });
  return h("a", { class: "picture", href: f.url, target: "_blank", rel: "noopener", title: f.name }, img);
}

function fileLink(f: Attachment): HTMLElement {
  return h(
    "a",
    { class: "file", href: f.url, download: f.name, title: `Download ${f.name}` },
    svgIcon("file"),
    h("span", { class: "file-name" }, f.name),
    h("span", { class: "file-size" }, sizeText(f.size)),
  );
}

const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes("Files") === true;

/** Files dropped anywhere on `target` (the open conversation) go to `onFiles`; it is outlined meanwhile. */
export function acceptDrops(target: HTMLElement, onFiles: (files: File[]) => void): void {
  target.addEventListener("dragover", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    target.classList.add("dropping");
  });
  target.addEventListener("dragleave", (e) => {
    if (!(e.relatedTarget instanceof Node) || !target.contains(e.relatedTarget))
      target.classList.remove("dropping");
  });
  target.addEventListener("drop", (e) => {
    target.classList.remove("dropping");
    if (!carriesFiles(e)) return;
    e.preventDefault();
    onFiles([...(e.dataTransfer?.files ?? [])]);
  });
}

/** One file of the tray. */
interface Upload {
  name: string;
  el: HTMLLIElement;
  attachment: Attachment | null;
  failed: boolean;
  abort: () => void;
}

export type Uploader = (
  file: File,
  name: string,
  onProgress: (fraction: number) => void,
) => { done: Promise<Attachment>; abort: () => void };

/** The files chosen for the next message: uploading at once, each with its progress bar. */
export class UploadTray {
  readonly el = h("ul", { class: "uploads", "aria-label": "Files to send", hidden: true });
  private readonly items: Upload[] = [];

  constructor(
    private readonly upload: Uploader,
    private readonly changed: () => void,
  ) {}

  add(files: Iterable<File>): void {
    for (const file of files) {
      // A pasted image is often just "image.png": the server names unnamed files by their type.
      const name = file.name || "";
      const bar = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${name || "file"}` });
      const status = h("span", { class: "upload-status" }, sizeText(file.size));
      const remove = iconButton("close", `Remove ${name || "file"}`);
      const el = h(
        "li",
        { class: "upload", "data-state": "uploading" },
        svgIcon("file"),
        h("span", { class: "upload-name" }, name || "Pasted image"),
        status,
        bar,
        remove,
      );
      const { done, abort } = this.upload(file, name, (fraction) => (bar.value = fraction));
      const item: Upload = { name, el, attachment: null, failed: false, abort };
      onClick(remove, () => this.remove(item));
      this.items.push(item);
      this.el.append(el);
      this.el.hidden = false;
      done.then(
        (attachment) => {
          item.attachment = attachment;
          el.dataset.state = "done";
          bar.value = 1;
          if (isPicture(attachment)) {
            el.firstElementChild?.replaceWith(h("img", { class: "thumb", src: attachment.url, alt: "" }));
          }
          this.changed();
        },
        (err: ApiError) => {
          if (!this.items.includes(item)) return; // removed (cancelled) by the person
          item.failed = true;
          el.dataset.state = "failed";
          status.setAttribute("role", "alert");
          status.textContent = err.message;
          bar.remove();
          this.changed();
        },
      );
    }
    this.changed();
  }

  /** Still uploading: the message waits. */
  get busy(): boolean {
    return this.items.some((i) => !i.attachment && !i.failed);
  }

  /** The files uploaded, ready to go with the next message. */
  get ready(): Attachment[] {
    return this.items.flatMap((i) => (i.attachment ? [i.attachment] : []));
  }

  /** After a send: the tray empties (refused files with it). */
  clear(): void {
    for (const item of this.items.slice()) this.remove(item);
  }

  private remove(item: Upload): void {
    item.abort();
    item.el.remove();
    this.items.splice(this.items.indexOf(item), 1);
    this.el.hidden = this.items.length === 0;
    this.changed();
  }
}
