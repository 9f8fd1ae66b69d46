// "Your data": a person deletes their account from their own profile (the avatar in the sidebar's
// header), with their password. A wrong one changes nothing; the right one signs them out, and the
// person they talked to still has the conversation, with their messages deleted and their name
// "Deleted user".

import { api, assert, desktop, openPage, person, register, screenshot, step } from "./helpers.mjs";

export const name = "a person deletes their account from their profile; the other keeps the history";

const SESSION_KEY = "edge-chat.session";

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const eve = person("Eve", "Leaving", tag);
  const { page } = await openPage(browser, "D", desktop, problems);
  try {
    await register(page, base, eve);
    const session = await page.evaluate(
      (key) => JSON.parse(localStorage.getItem(key) ?? "null"),
      SESSION_KEY,
    );
    const ken = await api(base, "POST", "/api/auth/register", null, person("Ken", "Staying", tag));
    const { conversation } = await api(base, "POST", "/api/conversations", ken.token, {
      participantIds: [session.user.id],
      body: `Hello Eve (${tag})`,
    });
    const secret = `Eve's words (${tag})`;
    await api(base, "POST", `/api/conversations/${conversation.id}/messages`, session.token, {
      body: secret,
    });
    step("Eve registered and talked with Ken");

    await page.getByRole("button", { name: "Your profile and account" }).click();
    const password = page.getByLabel("Your password, to delete your account");
    await password.fill("not my password");
    await page.getByRole("button", { name: "Delete account" }).click();
    await page.locator(".toast", { hasText: "password is incorrect" }).waitFor();
    assert((await page.locator("form.auth-form").count()) === 0, "a wrong password signed Eve out");
    await screenshot(page, "account-delete-dialog.png");
    step("a wrong password is refused and changes nothing");

    await password.fill(eve.password);
    await page.getByRole("button", { name: "Delete account" }).click();
    await page.locator("form.auth-form").waitFor();
    await page.locator(".toast", { hasText: "Your account was deleted." }).waitFor();
    await screenshot(page, "account-deleted.png");
    step("the right password deletes the account and signs Eve out");

    const history = await api(base, "GET", `/api/conversations/${conversation.id}/messages`, ken.token);
    const hers = history.messages.filter((m) => m.sender?.id === session.user.id);
    assert(hers.length === 1 && hers[0].body === "" && hers[0].deletedAt, "Eve's message is not a tombstone");
    assert(hers[0].sender.firstName === "Deleted user", `Eve shows as ${hers[0].sender.firstName}`);
    assert(
      history.messages.some((m) => m.body === `Hello Eve (${tag})`),
      "Ken's message is gone",
    );
    step("Ken keeps the conversation: Eve's message deleted, her name Deleted user");
  } catch (err) {
    await screenshot(page, "failure-account-deletion.png").catch(() => undefined);
    throw err;
  }
}
