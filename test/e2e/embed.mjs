// The chat embedded in a host application on another origin (allowed by ALLOWED_ORIGINS): the host
// page frames it and hands it a token its backend minted through the server API; the chat signs
// that user in without a form, goes live, and the host page itself reads the chat's REST API (CORS).

import { assert, desktop, openPage, screenshot, step, until } from "./helpers.mjs";

export const name = "embedded in a host app: framed, signed in by the host's token, REST over CORS";

export async function run(browser, base, problems, { host }) {
  const { page } = await openPage(browser, "H", desktop, problems);
  try {
    await page.goto(`${host.url}/`);
    const chat = page.frameLocator("#chat");
    await chat.locator('.sidebar .conn[data-state="open"]').waitFor();
    assert((await chat.locator("form.auth-form").count()) === 0, "the embedded chat asked for a password");
    step("the framed chat signed in with the host's token and its inbox socket is live");

    const me = await until("the host page's CORS call to /api/me", async () => {
      const text = await page.locator("#me").textContent();
      return text ? JSON.parse(text) : null;
    });
    assert(me.externalId === host.user.id, `the chat user is ${JSON.stringify(me)}`);
    assert(me.firstName === "Evelyn", `the profile from the server API is missing: ${JSON.stringify(me)}`);
    step(`the host's backend provisioned ${host.user.id}; its page read /api/me over CORS`);
    await screenshot(page, "embedded.png");
  } catch (err) {
    await screenshot(page, "failure-embed.png").catch(() => undefined);
    throw err;
  }
}
