import type { User } from "../../protocol/models";
import type { Api } from "../api";
import { h } from "../dom";
import { fullName } from "../format";
import { userAvatar } from "./avatar";

const DEBOUNCE_MS = 180;

/**
 * Wires a search box to GET /api/users: debounced, and only the answer to the latest query is
 * shown. `render(null)` means the box is empty.
 */
export function attachPeopleSearch(
  input: HTMLInputElement,
  api: Api,
  render: (users: User[] | null, error: string | null) => void,
): void {
  let timer: number | undefined;
  let latest = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    const ticket = ++latest;
    if (!q) {
      render(null, null);
      return;
    }
    timer = setTimeout(() => {
      api.searchUsers(q).then(
        (users) => ticket === latest && render(users, null),
        (err: unknown) =>
          ticket === latest && render([], err instanceof Error ? err.message : "Search failed"),
      );
    }, DEBOUNCE_MS);
  });
}

/** One person in a result list: avatar, name, and a trailing hint. */
export function personRow(user: User, hint: string, props: Record<string, string> = {}): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: "person", "data-user-id": user.id, ...props },
    userAvatar(user, "md"),
    h("span", { class: "person-name" }, fullName(user)),
    h("span", { class: "person-hint" }, hint),
  );
}
