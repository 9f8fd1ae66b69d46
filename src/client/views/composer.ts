import type { Attachment, Message } from "../../protocol/models";
import { previewText } from "../../protocol/text";
import { h, iconButton, onClick } from "../dom";
import { fullName } from "../format";
import { type Uploader, UploadTray } from "./attachments";

/**
 * The message box: Enter sends, Shift+Enter starts a new line, Escape leaves editing, ArrowUp in an
 * empty box edits my last message. Files come from the attach button, a paste or a drop (the view
 * passes drops on): they upload at once, and go with the next message once all are uploaded. It
 * reports typing so the view can tell the others.
 */

export interface ComposerHandlers {
  /** `replyTo`: the message this one answers, if the reply banner was open; `files`: uploaded ones. */
  onSend(text: string, replyTo: Message | null, files: Attachment[]): void;
  upload: Uploader;
  onSaveEdit(message: Message, text: string): void;
  onTyping(active: boolean): void;
  onEditLast(): void;
}

/** The server's default MAX_MESSAGE_CHARS; longer bodies are refused before a frame is sent. */
export const MAX_BODY_CHARS = 4000;
const TYPING_IDLE_MS = 4000;

export class Composer {
  readonly el: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly banner: HTMLElement;
  private readonly counter: HTMLElement;
  private editing: Message | null = null;
  private replying: Message | null = null;
  private readonly replyBanner: HTMLElement;
  private readonly replyText = h("span", { class: "reply-text" });
  private typing = false;
  private idleTimer: number | undefined;
  private readonly tray: UploadTray;

  constructor(private readonly handlers: ComposerHandlers) {
    this.input = h("textarea", {
      class: "composer-input",
      rows: 1,
      placeholder: "Write a message…",
      "aria-label": "Message",
      maxlength: MAX_BODY_CHARS,
      enterkeyhint: "send",
    });
    const send = iconButton("send", "Send message", { type: "submit", class: "send" });
    this.tray = new UploadTray(handlers.upload, () => this.updateCounter());
    const picker = h("input", { type: "file", multiple: true, hidden: true, "aria-hidden": "true" });
    const attach = iconButton("attach", "Attach files", { class: "attach" });
    onClick(attach, () => picker.click());
    picker.addEventListener("change", () => {
      this.addFiles(picker.files ?? []);
      picker.value = "";
    });
    const cancel = iconButton("close", "Cancel editing");
    this.banner = h(
      "div",
      { class: "edit-banner", hidden: true },
      h("span", null, "Editing message"),
      cancel,
    );
    const cancelReply = iconButton("close", "Cancel reply");
    this.replyBanner = h(
      "div",
      { class: "reply-banner", hidden: true, role: "status" },
      h("div", { class: "reply-what" }, this.replyText),
      cancelReply,
    );
    onClick(cancelReply, () => this.cancelReply());
    this.counter = h("span", { class: "counter", "aria-live": "polite" });
    this.el = h(
      "form",
      { class: "composer", "aria-label": "Send a message" },
      this.banner,
      this.replyBanner,
      this.tray.el,
      h("div", { class: "composer-row" }, attach, picker, this.input, send),
      this.counter,
    );

    onClick(cancel, () => this.cancelEdit());
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.isComposing) return;
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape" && this.editing) {
        event.preventDefault();
        this.cancelEdit();
      } else if (event.key === "Escape" && this.replying) {
        event.preventDefault();
        this.cancelReply();
      } else if (event.key === "ArrowUp" && this.input.value === "" && !this.editing) {
        event.preventDefault();
        this.handlers.onEditLast();
      }
    });
    this.input.addEventListener("input", () => this.onInput());
    // A pasted picture (a screenshot) is a file of the clipboard.
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length > 0) this.addFiles(files);
    });
    this.input.addEventListener("blur", () => this.setTyping(false));
  }

  focus(): void {
    this.input.focus({ preventScroll: true });
  }

  /** Files for the next message (chosen, pasted or dropped): they start uploading now. */
  addFiles(files: Iterable<File>): void {
    this.tray.add(files);
    this.focus();
  }

  /** The next message answers `message` (a banner says so until it is sent or cancelled). */
  startReply(message: Message, meId: string): void {
    this.cancelEdit();
    this.replying = message;
    const who =
      message.sender === null
        ? "a system message"
        : message.sender.id === meId
          ? "yourself"
          : fullName(message.sender);
    this.replyText.replaceChildren(
      h("strong", null, `Replying to ${who}`),
      h("span", { class: "reply-snippet" }, previewText(message)),
    );
    this.replyBanner.hidden = false;
    this.focus();
  }

  cancelReply(): void {
    this.replying = null;
    this.replyBanner.hidden = true;
  }

  startEdit(message: Message): void {
    this.cancelReply();
    this.editing = message;
    this.banner.hidden = false;
    this.el.classList.add("is-editing");
    this.input.value = message.body;
    this.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  cancelEdit(): void {
    if (!this.editing) return;
    this.editing = null;
    this.banner.hidden = true;
    this.el.classList.remove("is-editing");
    this.input.value = "";
    this.updateCounter();
  }

  /** Typing stops (and the others are told) when the box is cleared or sent. */
  stopTyping(): void {
    this.setTyping(false);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (text.length > MAX_BODY_CHARS) return;
    if (this.editing) {
      if (!text) return;
      const message = this.editing;
      this.cancelEdit();
      if (text !== message.body) this.handlers.onSaveEdit(message, text);
    } else {
      if (this.tray.busy) {
        this.counter.textContent = "The message goes once the files are uploaded: wait a moment";
        return;
      }
      const files = this.tray.ready;
      if (!text && files.length === 0) return;
      this.input.value = "";
      const replyTo = this.replying;
      this.cancelReply();
      this.tray.clear();
      this.handlers.onSend(text, replyTo, files);
    }
    this.setTyping(false);
    this.updateCounter();
    this.focus();
  }

  private onInput(): void {
    this.updateCounter();
    if (this.editing) return;
    if (this.input.value.trim() === "") {
      this.setTyping(false);
      return;
    }
    this.setTyping(true);
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
  }

  /** Reports every keystroke while active; the view throttles what goes on the wire. */
  private setTyping(active: boolean): void {
    if (!active) clearTimeout(this.idleTimer);
    if (!active && !this.typing) return;
    this.typing = active;
    this.handlers.onTyping(active);
  }

  private updateCounter(): void {
    const left = MAX_BODY_CHARS - this.input.value.length;
    this.counter.textContent = left < 200 ? `${left} characters left` : "";
  }
}
