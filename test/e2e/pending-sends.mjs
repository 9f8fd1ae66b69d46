// Issue 13's web-client scenario: a message written while the socket is down stays "Sending…" when
// the person switches to another conversation and back, and is sent when the browser is online
// again; one written offline and left behind for another conversation is delivered in the
// background; back in the conversation each shows exactly once, and the server stored each once.

import {
  api,
  assert,
  confirmedMessages,
  desktop,
  openPage,
  person,
  screenshot,
  signIn,
  sleep,
  step,
  until,
} from "./helpers.mjs";

export const name = "messages sent offline survive switching conversations and arrive exactly once";

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const ada = person("Augusta", "King", tag);
  const grace = person("Mary", "Somerville", tag);
  const kat = person("Caroline", "Herschel", tag);
  const register = (who) => api(base, "POST", "/api/auth/register", null, who);
  const [a, g, k] = [await register(ada), await register(grace), await register(kat)];
  const start = async (other, body) =>
    (
      await api(base, "POST", "/api/conversations", a.token, {
        participantIds: [other.user.id],
        body,
      })
    ).conversation;
  const withMary = await start(g, `Hello Mary (${tag})`);
  const withCaroline = await start(k, `Hello Caroline (${tag})`);
  const storedBodies = async () =>
    (await api(base, "GET", `/api/conversations/${withMary.id}/messages?limit=100`, g.token)).messages.map(
      (m) => m.body,
    );

  const { context, page } = await openPage(browser, "E", desktop, problems);
  const open = async (conversation) => {
    await page.locator(`.conv[data-conversation-id="${conversation.id}"]`).click();
    await page.locator(`.thread[data-conversation-id="${conversation.id}"]`).waitFor();
  };
  const composer = page.getByLabel("Message", { exact: true });
  const write = async (text) => {
    await composer.fill(text);
    await composer.press("Enter");
    await page.locator(".thread .pending-msg", { hasText: text }).waitFor();
  };
  const sendingRow = (text) =>
    page.locator(".thread .pending-msg", { hasText: text }).locator('[data-status="sending"]');

  try {
    await signIn(page, base, ada);
    await open(withMary);
    await page.locator('.thread .conn[data-state="open"]').waitFor();
    step("E opened the conversation with Mary; its socket is open");

    await context.setOffline(true);
    await page.locator('.thread .conn[data-state="offline"]').waitFor();
    const first = `Written while offline (${tag})`;
    await write(first);
    await open(withCaroline);
    await open(withMary);
    await sendingRow(first).waitFor();
    step("offline: a message shows Sending…, and still does after switching to Caroline and back");

    await context.setOffline(false);
    await page.locator('.thread .conn[data-state="open"]').waitFor();
    await page.locator(".thread .msg[data-seq] .body", { hasText: first }).waitFor();
    step("back online in Mary's conversation: the view loaded, connected and sent it");

    await context.setOffline(true);
    await page.locator('.thread .conn[data-state="offline"]').waitFor();
    const second = `Also written while offline (${tag})`;
    await write(second);
    await open(withCaroline);
    await context.setOffline(false);
    await until(
      "the second message stored on the server while E looks at another conversation",
      async () => (await storedBodies()).includes(second),
      30_000,
    );
    step("offline again, another message, switched to Caroline, online: it was delivered in the background");

    await open(withMary);
    await page.locator('.thread .conn[data-state="open"]').waitFor();
    await until("both messages confirmed in the conversation", async () => {
      const bodies = (await confirmedMessages(page)).map((m) => m.body);
      return bodies.includes(first) && bodies.includes(second);
    });
    // Longer than the client's replay grace period: a late duplicate would have shown by now.
    await sleep(2000);
    const shown = (await confirmedMessages(page)).map((m) => m.body);
    const stored = await storedBodies();
    for (const text of [first, second]) {
      assert(
        shown.filter((b) => b === text).length === 1,
        `E shows "${text}" ${shown.filter((b) => b === text).length} times`,
      );
      assert(
        stored.filter((b) => b === text).length === 1,
        `the server stored "${text}" ${stored.filter((b) => b === text).length} times`,
      );
    }
    assert((await page.locator(".pending-msg").count()) === 0, "E still shows messages as sending");
    step("back in Mary's conversation: each message shows once, stored once, nothing pending");
    await screenshot(page, "e-pending-delivered.png");
  } catch (err) {
    await screenshot(page, "failure-pending-e.png").catch(() => undefined);
    throw err;
  }
}
