import type { Me, User } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h } from "../dom";
import { fullName } from "../format";
import { userAvatar } from "./avatar";
import { openDialog } from "./dialog";
import { toast } from "./toast";

/**
 * A person's profile: their picture and name, a button to message them, and block or unblock.
 * Whether they are blocked is read from my block list when the dialog opens.
 */
export function openProfileDialog(api: Api, me: Me, user: User, openWith: (user: User) => void): void {
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
  if (self) body.append(h("p", { class: "hint" }, "This is you."));
  else body.append(hint, h("div", { class: "dialog-actions" }, block, message));
  const dialog = openDialog("Profile", body);
  if (self) return;

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
  message.addEventListener("click", () => {
    dialog.close();
    openWith(user);
  });
  block.addEventListener("click", () => {
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
        toast(err instanceof ApiError ? err.message : "That did not work", "error");
      },
    );
  });
}
