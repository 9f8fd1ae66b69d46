import type { Conversation, Me } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h } from "../dom";
import { conversationName, fullName } from "../format";
import { conversationAvatar, userAvatar } from "./avatar";
import { openDialog } from "./dialog";
import { openAddPeopleDialog } from "./group-dialog";
import { toast } from "./toast";

/** Who is in a conversation; add people to a group; leave a group or hide a direct conversation. */
export function openInfoDialog(
  api: Api,
  me: Me,
  conversation: Conversation,
  onLeft: () => void,
  onChanged: (c: Conversation) => void,
): void {
  const group = conversation.kind === "group";
  const members = h(
    "ul",
    { class: "members", "aria-label": "Members" },
    ...conversation.participants.map((p) =>
      h(
        "li",
        { class: "member" },
        userAvatar(p, "sm"),
        h("span", null, fullName(p)),
        p.id === me.id ? h("span", { class: "hint" }, "you") : null,
      ),
    ),
  );
  const leave = h("button", { type: "button", class: "danger" }, group ? "Leave group" : "Hide conversation");
  const actions = h("div", { class: "dialog-actions" }, leave);
  if (group) {
    const add = h("button", { type: "button", class: "secondary" }, "Add people");
    add.addEventListener("click", () => {
      dialog.close();
      openAddPeopleDialog(api, conversation, onChanged);
    });
    actions.prepend(add);
  }
  const dialog = openDialog(
    "Details",
    h(
      "div",
      { class: "dialog-body" },
      h(
        "div",
        { class: "info-head" },
        conversationAvatar(conversation, me.id, "lg"),
        h("strong", null, conversationName(conversation, me.id)),
      ),
      h("h3", { class: "section-title" }, `${conversation.participantCount} members`),
      members,
      h(
        "p",
        { class: "hint" },
        group
          ? "Leaving removes the group from your inbox; the others keep the history."
          : "Hiding removes it from your inbox until the next message.",
      ),
      actions,
    ),
  );
  leave.addEventListener("click", () => {
    leave.disabled = true;
    api.leave(conversation.id).then(
      () => {
        dialog.close();
        onLeft();
      },
      (err: unknown) => {
        leave.disabled = false;
        toast(err instanceof ApiError ? err.message : "That did not work", "error");
      },
    );
  });
}
