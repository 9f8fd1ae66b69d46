import type { InboxPage } from "../../src/protocol/responses";
import { api } from "./api";
import { until } from "./wait";

/** One page of the caller's inbox (`GET /api/conversations`), checked to answer 200. */
export async function inboxPage(token: string, query = ""): Promise<InboxPage> {
  const res = await api<InboxPage>("GET", `/api/conversations${query}`, { token });
  if (res.status !== 200) throw new Error(`inbox failed: ${res.status} ${res.text}`);
  return res.body;
}

/**
 * The caller's inbox once `check` holds. A user's own REST writes are in their inbox when the call
 * answers; someone else's reach it with the room's next coalesced notice (INBOX_NOTIFY_WINDOW_MS),
 * so a test that looks at another member's inbox waits for it (a bound, not a measurement).
 */
export async function inboxWhen(
  token: string,
  check: (page: InboxPage) => boolean,
  query = "",
): Promise<InboxPage> {
  let page = await inboxPage(token, query);
  await until("the inbox to show it", async () => {
    if (check(page)) return true;
    page = await inboxPage(token, query);
    return check(page);
  });
  return page;
}
