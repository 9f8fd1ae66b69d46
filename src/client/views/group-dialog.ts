import type { Conversation, User } from "../../protocol/models";
import { type Api, ApiError } from "../api";
import { h, iconButton, onClick } from "../dom";
import { fullName } from "../format";
import { openDialog } from "./dialog";
import { attachPeopleSearch, personRow } from "./people-search";

const noop = (): void => {};

/**
 * Picks people from a search. Used to create a group (with a title) and to add people to one.
 * `exclude` are ids that cannot be picked (already members).
 */
function peoplePicker(
  api: Api,
  exclude: Set<string>,
): { el: HTMLElement; selected: Map<string, User>; onChange: (fn: () => void) => void } {
  const selected = new Map<string, User>();
  let changed: () => void = noop;
  const chips = h("ul", { class: "chips", "aria-label": "Selected people" });
  const results = h("ul", { class: "people", "aria-label": "People found" });
  const input = h("input", {
    type: "search",
    class: "input",
    placeholder: "Search by name or email",
    "aria-label": "Search people to add",
    autocomplete: "off",
  });
  let last: User[] = [];
  const renderChips = () => {
    chips.replaceChildren(
      ...[...selected.values()].map((u) => {
        const remove = iconButton("close", `Remove ${fullName(u)}`);
        onClick(remove, () => {
          selected.delete(u.id);
          renderChips();
          renderResults(last);
        });
        return h("li", { class: "chip" }, fullName(u), remove);
      }),
    );
    changed();
  };
  const renderResults = (users: User[]) => {
    last = users;
    results.replaceChildren(
      ...users
        .filter((u) => !exclude.has(u.id))
        .map((u) => {
          const picked = selected.has(u.id);
          const row = personRow(u, picked ? "Added" : "Add", { "aria-pressed": String(picked) });
          onClick(row, () => {
            if (selected.has(u.id)) selected.delete(u.id);
            else selected.set(u.id, u);
            renderChips();
            renderResults(last);
          });
          return h("li", null, row);
        }),
    );
  };
  attachPeopleSearch(input, api, (users) => renderResults(users ?? []));
  const el = h(
    "div",
    { class: "picker" },
    h("label", { class: "field" }, h("span", null, "People"), input),
    chips,
    results,
  );
  return { el, selected, onChange: (fn) => (changed = fn) };
}

export function openGroupDialog(api: Api, onCreated: (conversation: Conversation) => void): void {
  const titleInput = h("input", {
    class: "input",
    name: "title",
    required: true,
    maxlength: 200,
    placeholder: "e.g. Weekend trip",
    autocomplete: "off",
  });
  const picker = peoplePicker(api, new Set());
  const error = h("p", { class: "form-error", role: "alert" });
  const create = h("button", { type: "submit", class: "primary", disabled: true }, "Create group");
  const form = h(
    "form",
    { class: "dialog-body" },
    h("label", { class: "field" }, h("span", null, "Group name"), titleInput),
    picker.el,
    error,
    h("div", { class: "dialog-actions" }, create),
  );
  const dialog = openDialog("New group", form);
  const update = () => (create.disabled = titleInput.value.trim() === "" || picker.selected.size === 0);
  picker.onChange(update);
  titleInput.addEventListener("input", update);
  titleInput.focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    create.disabled = true;
    api.createConversation([...picker.selected.keys()], titleInput.value.trim()).then(
      (conversation) => {
        dialog.close();
        onCreated(conversation);
      },
      (err: unknown) => {
        error.textContent = err instanceof ApiError ? err.message : "Could not create the group";
        update();
      },
    );
  });
}

export function openAddPeopleDialog(
  api: Api,
  conversation: Conversation,
  onDone: (conversation: Conversation) => void,
): void {
  const picker = peoplePicker(api, new Set(conversation.participants.map((p) => p.id)));
  const error = h("p", { class: "form-error", role: "alert" });
  const add = h("button", { type: "submit", class: "primary", disabled: true }, "Add to group");
  const form = h(
    "form",
    { class: "dialog-body" },
    picker.el,
    error,
    h("div", { class: "dialog-actions" }, add),
  );
  const dialog = openDialog("Add people", form);
  picker.onChange(() => (add.disabled = picker.selected.size === 0));
  form.querySelector("input")?.focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    add.disabled = true;
    api.addParticipants(conversation.id, [...picker.selected.keys()]).then(
      (updated) => {
        dialog.close();
        onDone(updated);
      },
      (err: unknown) => {
        error.textContent = err instanceof ApiError ? err.message : "Could not add them";
        add.disabled = false;
      },
    );
  });
}
