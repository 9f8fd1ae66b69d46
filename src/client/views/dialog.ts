import { h, iconButton, onClick } from "../dom";

/** A modal <dialog> with a title and a close button; removed from the page when closed. */
export function openDialog(title: string, ...content: Node[]): HTMLDialogElement {
  const close = iconButton("close", "Close");
  const heading = h("h2", { class: "dialog-title" }, title);
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-label": title },
    h("header", { class: "dialog-header" }, heading, close),
    ...content,
  );
  onClick(close, () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  // A click on the backdrop (outside the box) closes it.
  onClick(dialog, (event) => {
    if (event.target === dialog) dialog.close();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  return dialog;
}
