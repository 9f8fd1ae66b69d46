// Issue 5's scenario: A (desktop window) and B (phone-sized window) register; A finds B and writes;
// B's inbox shows the thread with an unread badge live, B opens it and answers (A sees B typing);
// A sees the answer and that B has seen the message; A goes offline (its socket closes), B sends
// two messages, A comes back online and shows both exactly once; B is seen reading A's next
// message, and still after A reloads the page.

import {
  assert,
  confirmedMessages,
  desktop,
  openPage,
  person,
  phone,
  register,
  screenshot,
  sleep,
  step,
  until,
} from "./helpers.mjs";

export const name = "two people chat live; a reconnect catches up without gaps or duplicates";

export async function run(browser, base, problems) {
  const tag = Date.now().toString(36);
  const ada = person("Ada", "Lovelace", tag);
  const grace = person("Grace", "Hopper", tag);
  const { context: ctxA, page: pageA } = await openPage(browser, "A", desktop, problems);
  const { page: pageB } = await openPage(browser, "B", phone, problems);
  try {
    await register(pageA, base, ada);
    step("A registered; the inbox socket is live");
    await register(pageB, base, grace);
    step("B registered; the inbox socket is live");
    await pageB.evaluate(() => (globalThis.e2eNoReloadMarker = true));

    // A finds B and writes.
    await pageA.getByLabel("Find people by name or email").fill("Grace");
    await pageA.getByRole("button", { name: "Message Grace Hopper" }).click();
    await pageA.locator('.thread .conn[data-state="open"]').waitFor();
    const conversationId = await pageA.locator(".thread").getAttribute("data-conversation-id");
    assert(conversationId, "the conversation view names no conversation");
    const hello = `Hello Grace, this is Ada (${tag})`;
    const composerA = pageA.getByLabel("Message", { exact: true });
    await composerA.fill(hello);
    await composerA.press("Enter");
    await pageA.locator(".thread .msg[data-seq] .body", { hasText: hello }).waitFor();
    step("A found B, opened the direct conversation and sent a message; the ack confirmed it");

    // B's inbox, live: the thread appears with an unread badge before B opens it.
    const rowB = pageB.locator(`.conv[data-conversation-id="${conversationId}"]`);
    await rowB.locator(".conv-snippet", { hasText: hello }).waitFor();
    const badge = await rowB.locator(".unread-badge").getAttribute("data-unread");
    assert(badge === "1", `B's unread badge shows ${badge}, expected 1`);
    assert(await pageB.evaluate(() => globalThis.e2eNoReloadMarker === true), "B's page was reloaded");
    await screenshot(pageB, "b-phone-inbox-unread.png");
    step("B's inbox shows the new thread with unread badge 1, without a reload");

    // B opens it, sees the message, types (A sees it) and answers on two lines.
    await rowB.click();
    await pageB.locator(".thread .msg[data-seq] .body", { hasText: hello }).waitFor();
    await pageB.locator('.thread .conn[data-state="open"]').waitFor();
    const composerB = pageB.getByLabel("Message", { exact: true });
    const answer = `Hi Ada! Grace here (${tag})\nSecond line`;
    await composerB.fill(answer.split("\n")[0]);
    await pageA.locator(".typing", { hasText: "Grace is typing" }).waitFor();
    step("A sees that B is typing");
    await composerB.press("Shift+Enter");
    await composerB.pressSequentially("Second line");
    await composerB.press("Enter");
    await pageB.locator(".thread .msg[data-seq] .body", { hasText: "Second line" }).waitFor();
    const sent = (await confirmedMessages(pageB)).find((m) => m.body.includes("Second line"));
    assert(sent?.body === answer, `Shift+Enter should make a new line; B sent ${JSON.stringify(sent?.body)}`);
    step("B opened the thread, saw the message and answered (Enter sent, Shift+Enter made a new line)");

    await pageA.locator(".thread .msg:not(.own) .body", { hasText: "Second line" }).waitFor();
    await pageA.locator('.thread .status[data-status="seen"]').waitFor();
    await until(
      "B's typing indicator to go away on A",
      async () => (await pageA.locator(".typing").textContent())?.trim() === "",
    );
    step("A sees the answer live, that B has seen the message, and no stale typing indicator");

    // A goes offline: its socket closes; B writes twice; A comes back and catches up once.
    await ctxA.setOffline(true);
    await pageA.locator('.thread .conn[data-state="offline"]').waitFor();
    const missed = [`While you were away #1 (${tag})`, `While you were away #2 (${tag})`];
    for (const text of missed) {
      await composerB.fill(text);
      await composerB.press("Enter");
    }
    for (const text of missed)
      await pageB.locator(".thread .msg[data-seq] .body", { hasText: text }).waitFor();
    await sleep(1000);
    const whileOffline = (await confirmedMessages(pageA)).filter((m) => missed.includes(m.body));
    assert(whileOffline.length === 0, "A received messages while its socket should have been closed");
    step("A is offline (socket closed, status shown); B sent two messages");

    await ctxA.setOffline(false);
    await pageA.locator('.thread .conn[data-state="open"]').waitFor();
    await until("both missed messages on A", async () => {
      const bodies = (await confirmedMessages(pageA)).map((m) => m.body);
      return missed.every((t) => bodies.includes(t));
    });
    // Longer than the client's replay grace period: a late duplicate would have shown by now.
    await sleep(2000);
    const after = await confirmedMessages(pageA);
    for (const text of missed) {
      const count = after.filter((m) => m.body === text).length;
      assert(count === 1, `A shows "${text}" ${count} times`);
    }
    const seqs = after.map((m) => m.seq);
    assert(
      seqs.every((s, i) => s === i + 1),
      `A's messages are not seq 1..n once each: ${seqs.join(",")}`,
    );
    assert((await pageA.locator(".pending-msg").count()) === 0, "A still shows unsent messages");
    step(`A reconnected with since and shows each missed message exactly once (seqs ${seqs.join(",")})`);

    await pageA.locator(".conv-snippet", { hasText: missed[1] }).waitFor();

    // B, reading with the thread open, is seen reading A's next message; after a reload too.
    const seenText = `Did you see this? (${tag})`;
    await composerA.fill(seenText);
    await composerA.press("Enter");
    await pageB.locator(".thread .msg[data-seq] .body", { hasText: seenText }).waitFor();
    const seenSeq = (await confirmedMessages(pageA)).find((m) => m.body === seenText)?.seq;
    assert(seenSeq, "A's message has no seq");
    const seenStatus = pageA.locator(`.thread .msg[data-seq="${seenSeq}"] .status[data-status="seen"]`);
    await seenStatus.waitFor();
    assert((await seenStatus.textContent())?.trim() === "Seen by Grace", "A's status does not name Grace");
    step("A sees that B read the newest message (B's read receipt, coalesced by the room)");
    await pageA.reload();
    await pageA.locator('.thread .conn[data-state="open"]').waitFor();
    await pageA.locator(`.thread .msg[data-seq="${seenSeq}"] .status[data-status="seen"]`).waitFor();
    step('after a reload A still sees "Seen by Grace" (the conversation\'s reads)');
    await screenshot(pageA, "a-desktop.png");
    await screenshot(pageB, "b-phone.png");
  } catch (err) {
    await screenshot(pageA, "failure-live-a.png").catch(() => undefined);
    await screenshot(pageB, "failure-live-b.png").catch(() => undefined);
    throw err;
  }
}
