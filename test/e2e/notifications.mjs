// Issue 16's in-tab notifications: B has allowed notifications (playwright grants the permission;
// the bell that asks for it is shown only to a browser not asked yet) and has a conversation with A
// open in a tab that is then hidden. A writes: B's title counts the unread message and B's service
// worker shows a notification with A's name and the text. B comes back: the count goes away.
// (Web Push itself needs a browser vendor's push service, which this machine cannot reach; the
// server side of it is tested against a local push service in test/integration/push.test.ts.)

import { api, assert, desktop, openPage, person, register, screenshot, step, until } from "./helpers.mjs";

export const name = "a hidden tab counts new messages in its title and shows a notification";

/** Makes the page believe its tab is hidden or visible again, as switching tabs would. */
function setVisibility(page, state) {
  return page.evaluate((s) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => s });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => s === "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
}

/** The notifications B's service worker shows, as {title, body, tag}; null while it is not ready. */
function shownNotifications(page) {
  return page.evaluate(async () => {
    // Not ready within a second: asked again by the caller's `until`, never waited on forever.
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 1000));
    const registration = await Promise.race([navigator.serviceWorker.ready, timeout]);
    if (!registration) return null;
    return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });
}

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const ada = person("Ada", "Byron", tag);
  const bob = person("Bob", "Kahn", tag);
  const { page: pageA } = await openPage(browser, "A", desktop, problems);
  const { page: pageB } = await openPage(
    browser,
    "B",
    { ...desktop, permissions: ["notifications"] },
    problems,
  );
  try {
    await register(pageA, base, ada);
    assert(
      await pageA.getByRole("button", { name: "Turn on notifications" }).isVisible(),
      "A's browser was never asked, yet shows no button to turn notifications on",
    );
    step("A registered; the bell offers notifications (nothing was asked on load)");
    await screenshot(pageA, "a-notifications-bell.png");

    const sw = await fetch(`${base}/sw.js`);
    assert(sw.ok && /javascript/.test(sw.headers.get("content-type") ?? ""), `/sw.js answered ${sw.status}`);
    assert(
      (sw.headers.get("content-security-policy") ?? "").includes("default-src 'none'"),
      "/sw.js has no strict CSP",
    );
    await sw.arrayBuffer();

    await register(pageB, base, bob);
    assert(
      !(await pageB.getByRole("button", { name: "Turn on notifications" }).isVisible()),
      "B already allowed notifications, yet the bell still asks",
    );
    await until("B's service worker", async () => (await shownNotifications(pageB)) !== null);
    step("B registered with notifications allowed; the service worker is ready");

    const { token: tokenA } = await api(base, "POST", "/api/auth/login", null, {
      email: ada.email,
      password: ada.password,
    });
    const { users } = await api(base, "GET", `/api/users?q=${encodeURIComponent(bob.email)}`, tokenA);
    const { conversation } = await api(base, "POST", "/api/conversations", tokenA, {
      participantIds: [users[0].id],
    });
    await pageB.goto(`${base}/#/c/${conversation.id}`);
    await pageB.locator('.thread .conn[data-state="open"]').waitFor();
    assert((await pageB.title()) === "Edge chat", `B's title is "${await pageB.title()}" before any message`);

    await setVisibility(pageB, "hidden");
    const text = `Are you there, Bob? (${tag})`;
    await api(base, "POST", `/api/conversations/${conversation.id}/messages`, tokenA, { body: text });
    await until("the unread count in B's title", async () => (await pageB.title()) === "(1) Edge chat");
    step("B's tab is hidden; A wrote; B's title reads (1) Edge chat");

    const shown = await until("B's notification", async () => {
      const list = await shownNotifications(pageB);
      return list && list.length > 0 ? list : null;
    });
    assert(
      shown.length === 1 &&
        shown[0].title === "Ada Byron" &&
        shown[0].body === text &&
        shown[0].tag === conversation.id,
      `B shows ${JSON.stringify(shown)}`,
    );
    step("B's service worker shows one notification: A's name and the text, tagged with the conversation");

    await setVisibility(pageB, "visible");
    await until("B's title without a count", async () => (await pageB.title()) === "Edge chat");
    step("B came back to the tab: the message is read and the count is gone");
    await screenshot(pageB, "b-notifications.png");
  } catch (err) {
    await screenshot(pageB, "failure-notifications-b.png").catch(() => undefined);
    throw err;
  }
}
