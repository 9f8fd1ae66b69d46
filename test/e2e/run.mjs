// The browser tests (issue 5), run by `npm run test:e2e`: Debian's Chromium (or CHROME_PATH)
// driven by playwright-core against `wrangler dev`, which this script starts and always stops.
// Without a browser it skips, except under CI=true, where that is a failure. It never downloads a
// browser. Screenshots of the windows go to test/e2e/screenshots/ (gitignored).

import { mkdirSync } from "node:fs";
import * as accountDeletion from "./account-deletion.mjs";
import * as attachments from "./attachments.mjs";
import { findBrowser, launchBrowser } from "./browser.mjs";
import { SHOTS } from "./helpers.mjs";
import * as conversationExtras from "./conversation-extras.mjs";
import * as embed from "./embed.mjs";
import { SERVER_API_KEY, startHostApp } from "./host-app.mjs";
import * as liveChat from "./live-chat.mjs";
import * as notifications from "./notifications.mjs";
import * as pendingSends from "./pending-sends.mjs";
import * as search from "./search.mjs";
import * as sessions from "./sessions.mjs";
import * as threadFeatures from "./thread-features.mjs";
import { ensureClientBuild, startWrangler } from "./wrangler.mjs";

// E2E_ONLY=<text> runs only the scenarios whose name contains it (while working on one).
const TESTS = [
  liveChat,
  threadFeatures,
  conversationExtras,
  attachments,
  pendingSends,
  sessions,
  embed,
  notifications,
  search,
  accountDeletion,
].filter((test) => !process.env.E2E_ONLY || test.name.includes(process.env.E2E_ONLY));
// Ten scenarios of up to PER_TEST_TIMEOUT_MS each; on a busy 2-core machine they take about 5 minutes.
const TOTAL_TIMEOUT_MS = 600_000;
const PER_TEST_TIMEOUT_MS = 120_000;
const CI = process.env.CI === "true" || process.env.CI === "1";

let server = null;
let host = null;
let browser = null;
let exiting = false;

async function exit(code, line) {
  if (exiting) return;
  exiting = true;
  await Promise.race([browser?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
  await server?.stop().catch(() => undefined);
  await host?.stop().catch(() => undefined);
  console.log(line);
  process.exit(code);
}

const watchdog = setTimeout(() => {
  console.error(`e2e: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`);
  if (server) console.error(`--- wrangler output (tail) ---\n${server.log().slice(-3000)}`);
  void exit(1, "e2e: gave up (timeout)");
}, TOTAL_TIMEOUT_MS);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void exit(130, "e2e: interrupted"));
process.on("unhandledRejection", (err) => {
  console.error(`e2e: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  void exit(1, "e2e: 0 passed, 1 failed");
});

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise(
    (_, reject) =>
      (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const executablePath = findBrowser();
  if (!executablePath) {
    const message =
      "e2e: no Chromium or Chrome found (set CHROME_PATH, or install Debian's chromium package)";
    if (CI) await exit(1, `${message}; CI=true, so that is a failure\ne2e: 0 passed, 1 failed`);
    else
      await exit(
        0,
        `${message}; skipping the browser tests\ne2e: 0 passed, 0 failed, ${TESTS.length} skipped`,
      );
    return;
  }
  mkdirSync(SHOTS, { recursive: true });
  if (await ensureClientBuild()) console.log("e2e: built the web client");
  // The host application that embeds the chat runs on its own origin, which the chat allows.
  host = await startHostApp();
  server = await startWrangler({ vars: { ALLOWED_ORIGINS: host.url, SERVER_API_KEYS: SERVER_API_KEY } });
  host.useChat(server.url);
  browser = await launchBrowser(executablePath);
  console.log(`e2e: wrangler dev at ${server.url}, browser ${executablePath} ${browser.version()}`);
  let passed = 0;
  let failed = 0;
  for (const test of TESTS) {
    console.log(`e2e: ${test.name}`);
    const problems = [];
    const started = Date.now();
    try {
      await withTimeout(
        test.run(browser, server.url, problems, { host, secret: server.secret }),
        PER_TEST_TIMEOUT_MS,
        test.name,
      );
      if (problems.length > 0) throw new Error(`the pages reported problems:\n${problems.join("\n")}`);
      passed++;
      console.log(`e2e: ✓ passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed++;
      console.error(`e2e: ✗ FAILED: ${err instanceof Error ? err.message : err}`);
      if (problems.length > 0) console.error(`page problems:\n${problems.join("\n")}`);
    } finally {
      for (const context of browser.contexts()) await context.close().catch(() => undefined);
    }
  }
  if (failed > 0) console.error(`--- wrangler output (tail) ---\n${server.log().slice(-3000)}`);
  else console.log(`e2e: screenshots in ${SHOTS}`);
  await exit(failed > 0 ? 1 : 0, `e2e: ${passed} passed, ${failed} failed`);
}

main().catch((err) => {
  console.error(`e2e: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  void exit(1, "e2e: 0 passed, 1 failed");
});
