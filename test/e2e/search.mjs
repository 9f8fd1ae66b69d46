// Message search in the web client: A types a word into the sidebar's search box and gets the
// messages of her conversations that have it (not those of a conversation she is not in), each
// with a snippet whose match is marked (the text's own markup shown as text); clicking an old
// result opens its conversation, loads older pages until the message is there, scrolls to it and
// flashes it.

import { api, assert, desktop, openPage, person, screenshot, signIn, step, until } from "./helpers.mjs";

export const name = "message search: results with marked snippets, a result opens at its message";

const HISTORY = 60;

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const word = `quokka${tag}`;
  const [ada, bob, cat] = [
    person("Ada", "Search", tag),
    person("Bob", "Search", tag),
    person("Cat", "Search", tag),
  ];
  const register = (who) => api(base, "POST", "/api/auth/register", null, who);
  const [a, b, c] = [await register(ada), await register(bob), await register(cat)];
  const send = (token, id, body) => api(base, "POST", `/api/conversations/${id}/messages`, token, { body });

  const { conversation: long } = await api(base, "POST", "/api/conversations", a.token, {
    participantIds: [b.user.id],
  });
  // The match is the 3rd of HISTORY messages: a page older than the latest one the view loads.
  for (let i = 1; i <= HISTORY; i++) {
    const body = i === 3 ? `Look at this <b>${word}</b> photo` : `History message ${i}`;
    await send(i % 2 === 0 ? a.token : b.token, long.id, body);
  }
  const { conversation: group } = await api(base, "POST", "/api/conversations", c.token, {
    participantIds: [a.user.id, b.user.id],
    title: `Zoo ${tag}`,
  });
  await send(c.token, group.id, `Another ${word} sighting`);
  const { conversation: theirs } = await api(base, "POST", "/api/conversations", b.token, {
    participantIds: [c.user.id],
  });
  await send(b.token, theirs.id, `A private ${word} for Cat`);
  step(`set up ${HISTORY} messages, a group and a conversation A is not in, over REST`);

  const { page } = await openPage(browser, "A", desktop, problems);
  await signIn(page, base, ada);
  await page.getByLabel("Find people by name or email, or messages by their words").fill(word);
  const results = page.locator(".message-results .found");
  await until("two message results", async () => (await results.count()) === 2);
  const found = await results.evaluateAll((links) =>
    links.map((link) => ({
      conversation: link.getAttribute("data-conversation-id"),
      seq: Number(link.getAttribute("data-seq")),
      marks: [...link.querySelectorAll("mark")].map((m) => m.textContent),
      elements: [...link.querySelectorAll(".found-snippet *")].map((e) => e.tagName.toLowerCase()),
      text: link.querySelector(".found-snippet")?.textContent ?? "",
    })),
  );
  assert(
    found[0]?.conversation === group.id && found[1]?.conversation === long.id && found[1]?.seq === 3,
    `results should be the group's message, then seq 3 of the long one; got ${JSON.stringify(found)}`,
  );
  assert(
    found.every((r) => r.marks.length === 1 && r.marks[0] === word),
    `each snippet should mark the word once: ${JSON.stringify(found)}`,
  );
  assert(
    found[1].elements.every((t) => t === "mark") && found[1].text.includes(`<b>${word}</b>`),
    `the message's own markup should show as text: ${JSON.stringify(found[1])}`,
  );
  await screenshot(page, "a-desktop-search-results.png");
  step("A's search lists the group's message and the old one, matches marked, nothing from Bob and Cat's");

  await results.nth(1).click();
  const target = page.locator(`.thread[data-conversation-id="${long.id}"] .msg[data-seq="3"]`);
  await target.waitFor();
  await until("the found message to flash", () => target.evaluate((row) => row.classList.contains("flash")));
  await until("the found message to be scrolled into view", () =>
    target.evaluate((row) => {
      const scroller = row.closest(".scroller");
      if (!scroller) return false;
      const box = row.getBoundingClientRect();
      const view = scroller.getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    }),
  );
  const body = await target.locator(".body").textContent();
  assert(body === `Look at this <b>${word}</b> photo`, `the opened message reads ${JSON.stringify(body)}`);
  assert(
    (await page.evaluate(() => location.hash)) === `#/c/${long.id}/m/3`,
    "the address names the conversation and the message",
  );
  await screenshot(page, "a-desktop-search-opened.png");
  step("clicking the old result opened the conversation, loaded older pages, scrolled to it and flashed it");
}
