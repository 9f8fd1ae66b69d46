// Issue 15 in the browser: a reply shows its quote on the other side, and a click on a quote
// loads older pages until the original shows; reactions change counts live on both sides; a
// group renamed in the details dialog is renamed live for the other person; mute shows in the
// header and is the person's own. Screenshots of each (desktop and phone) go to screenshots/.

import { join } from "node:path";
import {
  SHOTS,
  api,
  assert,
  desktop,
  openPage,
  person,
  phone,
  screenshot,
  signIn,
  step,
  until,
} from "./helpers.mjs";

export const name = "replies, reactions, renaming a group, mute";

/** More than one page (50): the oldest messages are not loaded when the group opens. */
const HISTORY = 60;

/** The row of the message whose own text (not a quote in it) contains `text`. */
const row = (page, text) =>
  page
    .locator(".thread .msg[data-seq]")
    .filter({ has: page.locator(".bubble > .body", { hasText: text }) })
    .last();
const count = (page, text, emoji) =>
  row(page, text).locator(`.reaction[data-emoji="${emoji}"] .reaction-count`).textContent({ timeout: 1000 });

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const nora = person("Nora", "Ephron", tag);
  const ben = person("Ben", "Okri", tag);
  const register = (who) => api(base, "POST", "/api/auth/register", null, who);
  const [n, b] = [await register(nora), await register(ben)];
  const { conversation } = await api(base, "POST", "/api/conversations", n.token, {
    participantIds: [b.user.id],
    title: `Book club ${tag}`,
  });
  const id = conversation.id;
  const post = (token, body) => api(base, "POST", `/api/conversations/${id}/messages`, token, body);
  const first = (await post(b.token, { body: "Chapter one was slow, but the ending of it 🤯" })).message;
  for (let i = 2; i <= HISTORY; i++) await post(i % 2 ? b.token : n.token, { body: `Note ${i}` });
  await post(b.token, { body: "Shall we read Ben's pick next?" });
  // A reply to the oldest message: its original is far above the first page.
  await post(b.token, { body: "Told you about chapter one", replyTo: first.id });
  step(`set up a group with ${HISTORY + 2} messages over REST`);

  const { page: pageN } = await openPage(browser, "N", desktop, problems);
  const { page: pageB } = await openPage(browser, "B", phone, problems);
  try {
    await signIn(pageN, base, nora);
    await signIn(pageB, base, ben);
    for (const page of [pageN, pageB]) {
      await page.locator(`.conv[data-conversation-id="${id}"]`).click();
      await page.locator('.thread .conn[data-state="open"]').waitFor();
      await row(page, "Told you about chapter one").waitFor();
    }

    // Reply: N answers B's question from the row's actions; B sees the quote live.
    const question = row(pageN, "Shall we read Ben's pick next?");
    await question.hover();
    await question.getByRole("button", { name: "Reply" }).click();
    await pageN.locator(".reply-banner:not([hidden])", { hasText: "Replying to Ben Okri" }).waitFor();
    const composerN = pageN.getByLabel("Message", { exact: true });
    await composerN.fill("Yes! Ben's pick it is.");
    await composerN.press("Enter");
    const replyOnB = row(pageB, "Yes! Ben's pick it is.");
    await replyOnB.locator(".quote", { hasText: "Shall we read Ben's pick next?" }).waitFor();
    assert(await pageN.locator(".reply-banner").isHidden(), "the reply banner stayed open after sending");
    step("N replied to a message; B saw the reply with its quote live");

    // A quote's original older than the loaded pages: a click loads them and shows it.
    assert((await pageN.locator(".thread .msg[data-seq='1']").count()) === 0, "seq 1 was loaded already");
    await row(pageN, "Told you about chapter one").locator(".quote").click();
    await pageN.locator(".thread .msg.flash[data-seq='1']").waitFor();
    step("N clicked a quote of the first message: older pages loaded and the original flashed");

    // Reactions: B reacts from the picker (a tap on the phone shows the actions); N sees it live.
    const onB = row(pageB, "Yes! Ben's pick it is.");
    await onB.locator(".bubble .body").click();
    await onB.getByRole("button", { name: "React" }).click();
    await pageB.locator(".reaction-picker .pick", { hasText: "🎉" }).click();
    await until("N to see B's 🎉", async () => (await count(pageN, "Yes! Ben's pick it is.", "🎉")) === "1");
    // N adds the same one from the chip: B's count goes to 2 live; N's chip shows pressed.
    await row(pageN, "Yes! Ben's pick it is.").locator('.reaction[data-emoji="🎉"]').click();
    await until("B to count 2", async () => (await count(pageB, "Yes! Ben's pick it is.", "🎉")) === "2");
    const pressed = await row(pageN, "Yes! Ben's pick it is.")
      .locator('.reaction[data-emoji="🎉"]')
      .getAttribute("aria-pressed");
    assert(pressed === "true", `N's own reaction does not show pressed (${pressed})`);
    await row(pageN, "Shall we read Ben's pick next?").hover();
    await row(pageN, "Shall we read Ben's pick next?").getByRole("button", { name: "React" }).click();
    await pageN.locator(".reaction-picker .pick", { hasText: "👍" }).click();
    await until("B to see N's 👍", async () => (await count(pageB, "Shall we read", "👍")) === "1");
    step("B reacted from the picker and N from a chip: both saw the counts change live");
    await row(pageN, "Yes! Ben's pick it is.").scrollIntoViewIfNeeded();
    await screenshot(pageN, "n-desktop-replies-reactions.png");
    // The README's picture: the conversation pane alone.
    await pageN.locator(".thread").screenshot({ path: join(SHOTS, "readme-thread.png") });
    await screenshot(pageB, "b-phone-replies-reactions.png");

    // Rename from the details dialog; B's header and inbox follow live.
    await pageN.getByRole("button", { name: "Conversation details" }).click();
    const renamed = `Reading circle ${tag}`;
    await pageN.getByLabel("Group name").fill(renamed);
    await screenshot(pageN, "n-desktop-details.png");
    await pageN.getByRole("button", { name: "Rename", exact: true }).click();
    await pageB.locator(".thread-name", { hasText: renamed }).waitFor();
    await pageN.locator(".thread-name", { hasText: renamed }).waitFor();
    await pageN.keyboard.press("Escape");
    step("N renamed the group in the details dialog; B's header showed the new name live");

    // Mute: B's own setting, shown pressed in B's header, not in N's; the server agrees.
    await pageB.getByRole("button", { name: "Mute notifications" }).click();
    await pageB.locator('.thread-header .mute[aria-pressed="true"]').waitFor();
    await screenshot(pageB, "b-phone-muted.png");
    const view = await api(base, "GET", `/api/conversations/${id}`, b.token);
    assert(view.muted === true, "the server does not have B's mute");
    const nView = await api(base, "GET", `/api/conversations/${id}`, n.token);
    assert(nView.muted === false, "N's view is muted too");
    assert(
      (await pageN.locator(".thread-header .mute").getAttribute("aria-pressed")) === "false",
      "N's header shows muted",
    );
    await pageB.getByRole("button", { name: "Back to conversations" }).click();
    await pageB.locator(`.conv[data-conversation-id="${id}"] .conv-muted`).waitFor();
    await pageB.locator(`.conv[data-conversation-id="${id}"]`, { hasText: renamed }).waitFor();
    await screenshot(pageB, "b-phone-inbox-muted.png");
    step("B muted the group: B's header and inbox show it, N's do not");

    // A person's profile, from a name in the thread: block and unblock.
    await row(pageN, "Shall we read Ben's pick next?").locator(".meta .name").click();
    const block = pageN.locator(".dialog.dialog .danger", { hasText: "Block" });
    await block.waitFor();
    await until("the block state to load", () => block.isEnabled());
    await screenshot(pageN, "n-desktop-profile.png");
    await block.click();
    await pageN.locator(".dialog [data-blocked='true']", { hasText: "Unblock" }).waitFor();
    const blocks = await api(base, "GET", "/api/me/blocks", n.token);
    assert(
      blocks.users.some((u) => u.id === b.user.id),
      "the block is not stored",
    );
    await pageN.locator(".dialog [data-blocked='true']").click();
    await pageN.locator(".dialog [data-blocked='false']", { hasText: "Block" }).waitFor();
    await pageN.keyboard.press("Escape");
    step("N blocked and unblocked B from B's profile");
  } catch (err) {
    await screenshot(pageN, "failure-extras-n.png").catch(() => undefined);
    await screenshot(pageB, "failure-extras-b.png").catch(() => undefined);
    throw err;
  }
}
