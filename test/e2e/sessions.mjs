// Sessions as people expect them: signed in once, still signed in after a reload and in a new tab
// (the session is shared through localStorage); a token about to expire is renewed and the live
// sockets move to the new one without a message lost; signing out in one tab signs out the others.
// The sockets are opened with single-use tickets, so the token never appears in a URL.

import { SignJWT } from "jose";
import { api, assert, desktop, openPage, person, register, screenshot, step, until } from "./helpers.mjs";

export const name =
  "a session survives reloads and new tabs, is renewed live, ends everywhere; sockets use tickets";

const SESSION_KEY = "edge-chat.session";

/** An own token as the server signs them, valid for `seconds` only (signed with the dev server's secret). */
function shortLivedToken(userId, secret, seconds) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer("edge-chat")
    .setAudience("edge-chat")
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .sign(new TextEncoder().encode(secret));
}

/** The session a page holds in localStorage. */
const stored = (p) => p.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? "null"), SESSION_KEY);

export async function run(browser, base, problems, { secret }) {
  const tag = Date.now().toString(36);
  const mary = person("Mary", "Jackson", tag);
  const { context, page } = await openPage(browser, "S", desktop, problems);
  const sockets = [];
  const watch = (p) =>
    p.on("websocket", (ws) => {
      const entry = { url: ws.url(), closed: false };
      ws.on("close", () => (entry.closed = true));
      sockets.push(entry);
    });
  watch(page);
  try {
    await register(page, base, mary);
    step("registered; the inbox socket is live");

    await page.reload();
    await page.locator('.sidebar .conn[data-state="open"]').waitFor();
    assert((await page.locator("form.auth-form").count()) === 0, "the reload showed the sign-in form");
    step("still signed in after a reload");

    const second = await context.newPage();
    watch(second);
    second.on("pageerror", (err) => problems.push(`S2: uncaught ${err.message}`));
    await second.goto(`${base}/`);
    await second.locator('.sidebar .conn[data-state="open"]').waitFor();
    step("signed in in a new tab without typing anything");

    // The token is about to expire: the page renews it and moves its sockets over.
    const session = await stored(page);
    const expiring = await shortLivedToken(session.user.id, secret, 8);
    await page.evaluate(
      ([key, value]) => localStorage.setItem(key, value),
      [SESSION_KEY, JSON.stringify({ ...session, token: expiring })],
    );
    await second.close();
    const before = sockets.length;
    await page.reload();
    await page.locator('.sidebar .conn[data-state="open"]').waitFor();
    const renewed = await until(
      "the token to be renewed",
      async () => {
        const now = await stored(page);
        return now && now.token !== expiring ? now : null;
      },
      10_000,
    );
    const payload = JSON.parse(Buffer.from(renewed.token.split(".")[1], "base64url").toString());
    assert(payload.exp - Date.now() / 1000 > 3600, "the renewed token is as short-lived as the old one");
    await until("a socket opened with the renewed token to replace the first", () => {
      const mine = sockets.slice(before);
      return mine.length >= 2 && mine[0].closed && !mine.at(-1).closed;
    });
    // Past the old token's expiry, the page is live: someone writes, the inbox shows it.
    await until("the old token to expire", () => Date.now() / 1000 > payload.iat + 9, 15_000);
    const ken = await api(base, "POST", "/api/auth/register", null, person("Ken", "Thompson", tag));
    const hello = `Still there, Mary? (${tag})`;
    await api(base, "POST", "/api/conversations", ken.token, {
      participantIds: [session.user.id],
      body: hello,
    });
    await page.locator(".conv-snippet", { hasText: hello }).waitFor();
    step("a token about to expire was renewed; the socket moved over and the inbox stayed live");

    const tokens = [expiring, session.token, renewed.token];
    assert(sockets.length >= 4, `expected at least four sockets, saw ${sockets.length}`);
    for (const { url } of sockets) {
      const params = new URL(url).searchParams;
      assert(params.has("ticket"), `a socket was opened without a ticket: ${url}`);
      assert(!params.has("access_token") && !tokens.some((t) => url.includes(t)), `token in a URL: ${url}`);
    }
    const tickets = sockets.map(({ url }) => new URL(url).searchParams.get("ticket"));
    assert(new Set(tickets).size === tickets.length, "a ticket was used twice");
    step(`${sockets.length} sockets opened, each with its own ticket and no token in the URL`);

    const third = await context.newPage();
    await third.goto(`${base}/`);
    await third.locator('.sidebar .conn[data-state="open"]').waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.locator("form.auth-form").waitFor();
    await third.locator("form.auth-form").waitFor();
    step("signing out in one tab signed the other out too");
    await screenshot(third, "session-signed-out.png");
  } catch (err) {
    await screenshot(page, "failure-session.png").catch(() => undefined);
    throw err;
  }
}
