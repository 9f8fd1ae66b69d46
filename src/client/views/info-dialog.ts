import type { Conversation, Me, User } from "../../protocol/models";
import type { Api } from "../api";
import { h, onClick } from "../dom";
import { conversationName, fullName } from "../format";
import { conversationAvatar, userAvatar } from "./avatar";
import { openDialog } from "./dialog";
import { openAddPeopleDialog } from "./group-dialog";
import { toast, toastFailure } from "./toast";

export interface InfoActions {
  /** I left the group (or hid the direct conversation). */
  onLeft(): void;
  /** The conversation changed here (renamed, people added or removed). */
  onChanged(conversation: Conversation): void;
  openProfile(user: User): void;
}

/**
 * Who is in a conversation (each opens their profile); a group's name, its people added, and,
 * for its creator, removed; leave a group or hide a direct conversation.
 */
export function openInfoDialog(api: Api, me: Me, conversation: Conversation, actions: InfoActions): void {
  const group = conversation.kind === "group";
  const creator = group && conversation.createdBy === me.id;
  let current = conversation;
  const members = h("ul", { class: "members", "aria-label": "Members" });
  const count = h("h3", { class: "section-title" });
  const renderMembers = () => {
    count.textContent = `${current.participantCount} members`;
    members.replaceChildren(...current.participants.map((p) => memberRow(p)));
  };
  const memberRow = (p: User) => {
    const person = h(
      "button",
      { type: "button", class: "member-person", "data-user-id": p.id },
      userAvatar(p, "sm"),
      h("span", null, fullName(p)),
      p.id === me.id ? h("span", { class: "hint" }, "you") : null,
      group && p.id === current.createdBy ? h("span", { class: "hint" }, "creator") : null,
    );
    onClick(person, () => {
      dialog.close();
      actions.openProfile(p);
    });
    const li = h("li", { class: "member" }, person);
    if (creator && p.id !== me.id) {
      const remove = h("button", { type: "button", class: "link danger-link" }, "Remove");
      remove.setAttribute("aria-label", `Remove ${fullName(p)} from the group`);
      onClick(remove, () => {
        if (!confirm(`Remove ${fullName(p)} from this group?`)) return;
        remove.disabled = true;
        api.removeParticipant(current.id, p.id).then(() => {
          current = {
            ...current,
            participants: current.participants.filter((x) => x.id !== p.id),
            participantCount: current.participantCount - 1,
          };
          renderMembers();
          actions.onChanged(current);
        }, toastFailure);
      });
      li.append(remove);
    }
    return li;
  };
  renderMembers();

  const leave = h("button", { type: "button", class: "danger" }, group ? "Leave group" : "Hide conversation");
  const buttons = h("div", { class: "dialog-actions" }, leave);
  const body = h(
    "div",
    { class: "dialog-body" },
    h(
      "div",
      { class: "info-head" },
      conversationAvatar(conversation, me.id, "lg"),
      h("strong", null, conversationName(conversation, me.id)),
    ),
  );
  if (group) {
    body.append(
      renameForm(api, conversation, (updated) => {
        current = { ...current, title: updated.title };
        actions.onChanged(updated);
      }),
    );
    const add = h("button", { type: "button", class: "secondary" }, "Add people");
    onClick(add, () => {
      dialog.close();
      openAddPeopleDialog(api, current, actions.onChanged);
    });
    buttons.prepend(add);
  }
  body.append(
    count,
    members,
    h(
      "p",
      { class: "hint" },
      group
        ? "Leaving removes the group from your inbox; the others keep the history."
        : "Hiding removes it from your inbox until the next message.",
    ),
    buttons,
  );
  const dialog = openDialog("Details", body);
  onClick(leave, () => {
    leave.disabled = true;
    api.leave(conversation.id).then(
      () => {
        dialog.close();
        actions.onLeft();
      },
      (err: unknown) => {
        leave.disabled = false;
        toastFailure(err);
      },
    );
  });
}

/** A group's name, saved for everyone; empty names the group by its people again. */
function renameForm(
  api: Api,
  conversation: Conversation,
  onRenamed: (c: Conversation) => void,
): HTMLFormElement {
  const input = h("input", {
    class: "input",
    name: "title",
    value: conversation.title ?? "",
    maxlength: 200,
    placeholder: "Name the group",
    "aria-label": "Group name",
    autocomplete: "off",
  });
  const save = h("button", { type: "submit", class: "secondary" }, "Rename");
  const form = h("form", { class: "rename", "aria-label": "Rename the group" }, input, save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = input.value.trim() || null;
    if (title === conversation.title) return;
    save.disabled = true;
    api.rename(conversation.id, title).then(
      (updated) => {
        save.disabled = false;
        onRenamed(updated);
        toast(title ? `Renamed to “${title}”` : "The group is named by its people again");
      },
      (err: unknown) => {
        save.disabled = false;
        toastFailure(err);
      },
    );
  });
  return form;
}
