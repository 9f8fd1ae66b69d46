// The chat embedded in a host application on another origin (allowed by ALLOWED_ORIGINS): the host
// page frames it and hands it a token its backend minted through the server API; the chat signs
// that user in without a form, goes live, and the host page itself reads the chat's REST API (CORS).
// The host's backend then starts a conversation for its user and posts a system message into it,
// which the chat shows apart from people's messages.

import { api, assert, desktop, openPage, person, screenshot, step, until } from "./helpers.mjs";
import { SERVER_API_KEY } from "./host-app.mjs";

export const name = "embedded in a host app: framed, signed in by the host's token, REST over CORS";

export async function run(browser, base, problems, { host }) {
  const tag = Date.now().toString(36);
  const grace = await api(base, "POST", "/api/auth/register", null, person("Grace", "Hopper", tag));
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

    const { conversation } = await api(base, "POST", "/api/server/conversations", SERVER_API_KEY, {
      createdBy: me.id,
      participantIds: [grace.user.id],
      body: "Hello from the host app",
    });
    const notice = "Your order #42 has shipped";
    await api(base, "POST", `/api/server/conversations/${conversation.id}/messages`, SERVER_API_KEY, {
      body: notice,
    });
    await chat.locator(`.conv[data-conversation-id="${conversation.id}"]`).click();
    const row = chat.locator(".thread .msg.system", { hasText: notice });
    await row.waitFor();
    assert((await row.locator(".avatar").count()) === 0, "a system message shows an avatar");
    assert((await row.locator(".name").count()) === 0, "a system message shows a sender's name");
    assert((await row.locator(".actions").count()) === 0, "a system message offers edit/delete");
    const align = await row.locator(".system-note").evaluate((el) => getComputedStyle(el).textAlign);
    assert(align === "center", `a system message is aligned ${align}, not centred`);
    // A live one, while the conversation is open.
    await api(base, "POST", `/api/server/conversations/${conversation.id}/messages`, SERVER_API_KEY, {
      body: "Delivery expected tomorrow",
    });
    await chat.locator(".thread .msg.system", { hasText: "Delivery expected tomorrow" }).waitFor();
    step("system messages from the host's backend show centred, muted, without avatar or actions");
    await screenshot(page, "system-message.png");
  } catch (err) {
    await screenshot(page, "failure-embed.png").catch(() => undefined);
    throw err;
  }
}
