import type { Me, User } from "../../protocol/models";
import type { Api } from "../api";
import { h, onClick } from "../dom";
import { fullName } from "../format";
import { userAvatar } from "./avatar";
import { openDialog } from "./dialog";
import { toast, toastFailure } from "./toast";

/**
 * A person's profile: their picture and name, a button to message them, and block or unblock.
 * Whether they are blocked is read from my block list when the dialog opens.
 */
export function openProfileDialog(
  api: Api,
  me: Me,
  user: User,
  openWith: (user: User) => void,
  onDeleted: () => void = () => undefined,
): void {
  const self = user.id === me.id;
  const message = h("button", { type: "button", class: "primary" }, "Message");
  const block = h("button", { type: "button", class: "danger", disabled: true }, "Block");
  const hint = h(
    "p",
    { class: "hint" },
    "Someone you block cannot start a conversation with you or add you to a group. They are not told; messages in groups you share still arrive.",
  );
  const body = h(
    "div",
    { class: "dialog-body profile" },
    h("div", { class: "info-head" }, userAvatar(user, "lg"), h("strong", null, fullName(user))),
  );
  if (!self) body.append(hint, h("div", { class: "dialog-actions" }, block, message));
  const dialog = openDialog("Profile", body);
  if (self) {
    body.append(h("p", { class: "hint" }, "This is you."), accountDeletion(api, me, dialog, onDeleted));
    return;
  }

  let blocked = false;
  const render = () => {
    block.textContent = blocked ? "Unblock" : "Block";
    block.className = blocked ? "secondary" : "danger";
    block.dataset.blocked = String(blocked);
  };
  api.blocks().then(
    (users) => {
      blocked = users.some((u) => u.id === user.id);
      block.disabled = false;
      render();
    },
    () => toast("Could not load your blocked people", "error"),
  );
  onClick(message, () => {
    dialog.close();
    openWith(user);
  });
  onClick(block, () => {
    block.disabled = true;
    api.setBlocked(user.id, !blocked).then(
      () => {
        blocked = !blocked;
        block.disabled = false;
        render();
        toast(blocked ? `${fullName(user)} is blocked` : `${fullName(user)} is unblocked`);
      },
      (err: unknown) => {
        block.disabled = false;
        toastFailure(err);
      },
    );
  });
}

/**
 * My own profile's way out: the account is deleted after my password (an account of the host's
 * identity provider has none: a confirmation, and the server wants a recent sign-in).
 */
function accountDeletion(api: Api, me: Me, dialog: HTMLDialogElement, onDeleted: () => void): HTMLElement {
  const needsPassword = me.externalId === null;
  const password = h("input", {
    type: "password",
    class: "input",
    autocomplete: "current-password",
    placeholder: "Your password",
    "aria-label": "Your password, to delete your account",
  });
  const remove = h("button", { type: "button", class: "danger" }, "Delete account");
  onClick(remove, () => {
    if (needsPassword && !password.value) return password.focus();
    if (!needsPassword && !confirm("Delete your account? This cannot be undone.")) return;
    remove.disabled = true;
    api.deleteAccount(needsPassword ? password.value : undefined).then(
      () => {
        dialog.close();
        onDeleted();
      },
      (err: unknown) => {
        remove.disabled = false;
        toastFailure(err);
      },
    );
  });
  return h(
    "div",
    { class: "account-delete" },
    h(
      "p",
      { class: "hint" },
      "Deleting your account turns your messages into deleted messages for everyone and signs you out everywhere. It cannot be undone.",
    ),
    needsPassword ? password : null,
    h("div", { class: "dialog-actions" }, remove),
  );
}
