// The rest of the conversation view: older pages when scrolling up, a group created from the
// dialog reaching the other person's inbox live, edit and delete seen live by the other person,
// and signing out.

import {
  api,
  assert,
  confirmedMessages,
  desktop,
  openPage,
  person,
  phone,
  screenshot,
  signIn,
  step,
  until,
} from "./helpers.mjs";

export const name = "history pages, groups, live edit and delete, sign out";

const HISTORY = 120;

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const alan = person("Alan", "Turing", tag);
  const kat = person("Katherine", "Johnson", tag);
  const register = (who) => api(base, "POST", "/api/auth/register", null, who);
  const [a, k] = [await register(alan), await register(kat)];
  const { conversation } = await api(base, "POST", "/api/conversations", a.token, {
    participantIds: [k.user.id],
  });
  // Alternate senders: each stays under the per-sender rate limit (100 per 10 s).
  for (let i = 1; i <= HISTORY; i++) {
    const token = i % 2 === 0 ? a.token : k.token;
    await api(base, "POST", `/api/conversations/${conversation.id}/messages`, token, {
      body: `History message ${i}`,
    });
  }
  step(`set up ${HISTORY} messages over REST`);

  const { page: pageC } = await openPage(browser, "C", desktop, problems);
  const { page: pageD } = await openPage(browser, "D", phone, problems);
  try {
    await signIn(pageC, base, alan);
    await pageC.locator(`.conv[data-conversation-id="${conversation.id}"]`).click();
    await pageC.locator(".thread .msg[data-seq] .body", { hasText: `History message ${HISTORY}` }).waitFor();
    const first = await confirmedMessages(pageC);
    assert(
      first.length === 50 && first[0]?.seq === HISTORY - 49,
      `the first page should be the latest 50, got ${first.length} from seq ${first[0]?.seq}`,
    );
    for (let pages = 0; pages < 5; pages++) {
      const shown = (await confirmedMessages(pageC)).length;
      if (shown >= HISTORY) break;
      await pageC.locator(".scroller").evaluate((el) => el.scrollTo({ top: 0 }));
      await until("an older page", async () => (await confirmedMessages(pageC)).length > shown);
    }
    const all = await confirmedMessages(pageC);
    assert(
      all.length === HISTORY && all.every((m, i) => m.seq === i + 1),
      `after scrolling up: ${all.length} messages, seqs not 1..${HISTORY}`,
    );
    step(`scrolling up loaded older pages: all ${HISTORY} messages, oldest first, once each`);

    // A group from the dialog reaches the other person's inbox live.
    await signIn(pageD, base, kat);
    await pageC.getByRole("button", { name: "New group" }).click();
    await pageC.getByLabel("Group name").fill(`Launch team ${tag}`);
    await pageC.getByLabel("Search people to add").fill("Katherine");
    await pageC.locator(".dialog .person", { hasText: "Katherine Johnson" }).click();
    await pageC.getByRole("button", { name: "Create group" }).click();
    await pageC.locator(".thread-name", { hasText: `Launch team ${tag}` }).waitFor();
    await pageC.locator('.thread .conn[data-state="open"]').waitFor();
    const groupRow = pageD.locator(".conv", { hasText: `Launch team ${tag}` });
    await groupRow.waitFor();
    step("C created a group from the dialog; it appeared live in D's inbox");

    const composer = pageC.getByLabel("Message", { exact: true });
    await composer.fill("Draft plan");
    await composer.press("Enter");
    await pageC.locator(".thread .msg[data-seq] .body", { hasText: "Draft plan" }).waitFor();
    await groupRow.click();
    await pageD.locator(".thread .msg[data-seq] .body", { hasText: "Draft plan" }).waitFor();
    await pageD.locator('.thread .conn[data-state="open"]').waitFor();

    // Edit with ArrowUp in the empty composer; D sees the new text live.
    await composer.press("ArrowUp");
    await pageC.locator(".edit-banner:not([hidden])").waitFor();
    await composer.fill("Final plan");
    await composer.press("Enter");
    await pageD.locator(".thread .msg[data-seq]", { hasText: "Final plan" }).locator(".edited").waitFor();
    step("C edited the message (ArrowUp, Enter); D saw the edit live");

    // Delete from the row's actions; D sees the tombstone live.
    pageC.once("dialog", (dialog) => void dialog.accept());
    const own = pageC.locator(".thread .msg.own[data-seq]", { hasText: "Final plan" });
    await own.hover();
    await own.getByRole("button", { name: "Delete message" }).click();
    await pageD.locator(".thread .msg.is-deleted .body", { hasText: "This message was deleted" }).waitFor();
    assert(
      (await pageD.locator(".thread .msg[data-seq] .body", { hasText: "Final plan" }).count()) === 0,
      "D still shows the deleted text",
    );
    step("C deleted the message; D saw the tombstone live");
    await screenshot(pageD, "d-phone-group.png");

    await pageC.getByRole("button", { name: "Sign out" }).click();
    await pageC.locator("form.auth-form").waitFor();
    await pageC.reload();
    await pageC.locator("form.auth-form").waitFor();
    const stored = await pageC.evaluate(() => sessionStorage.length);
    assert(stored === 0, "the session is still stored after signing out");
    step("C signed out: the sign-in form shows, also after a reload");
  } catch (err) {
    await screenshot(pageC, "failure-features-c.png").catch(() => undefined);
    await screenshot(pageD, "failure-features-d.png").catch(() => undefined);
    throw err;
  }
}
