// Small helpers shared by the browser scenarios.

import { join } from "node:path";
import { ROOT } from "./wrangler.mjs";

export const STEP_TIMEOUT_MS = 15_000;
export const SHOTS = join(ROOT, "test/e2e/screenshots");

export const step = (text) => console.log(`e2e:   ${text}`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Polls `fn` until it returns a truthy value, or fails naming `what`. */
export async function until(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ""}`);
    await sleep(100);
  }
}

export const desktop = { viewport: { width: 1280, height: 800 } };
export const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

/**
 * A page that records what must never happen: uncaught exceptions and anything the Content
 * Security Policy or Trusted Types refused.
 */
export async function openPage(browser, name, options, problems) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("pageerror", (err) => problems.push(`${name}: uncaught ${err.message}`));
  page.on("console", (msg) => {
    if (/Content.Security.Policy|Trusted.Type/i.test(msg.text())) problems.push(`${name}: ${msg.text()}`);
  });
  return { context, page };
}

export function screenshot(page, file) {
  return page.screenshot({ path: join(SHOTS, file), timeout: STEP_TIMEOUT_MS });
}

/** The confirmed messages a window shows (rows with a seq), oldest first. */
export function confirmedMessages(page) {
  return page.$$eval(".thread .messages .msg[data-seq]", (rows) =>
    rows.map((row) => ({
      seq: Number(row.getAttribute("data-seq")),
      body: row.querySelector(".body")?.textContent ?? "",
    })),
  );
}

export function person(firstName, lastName, run) {
  return {
    firstName,
    lastName,
    email: `${firstName.toLowerCase()}-${run}@example.com`,
    password: `${lastName}-password-1`,
  };
}

/** Creates an account through the sign-up form and waits for the live inbox. */
export async function register(page, base, who) {
  const response = await page.goto(`${base}/#/signup`, { timeout: STEP_TIMEOUT_MS });
  const csp = response?.headers()["content-security-policy"] ?? "";
  assert(
    csp.includes("script-src 'self'") && csp.includes("require-trusted-types-for"),
    `the page has no strict CSP (got "${csp}")`,
  );
  await page.getByLabel("First name").fill(who.firstName);
  await page.getByLabel("Last name").fill(who.lastName);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.locator("form.auth-form button[type=submit]").click();
  await page.locator('.sidebar .conn[data-state="open"]').waitFor();
}

/** Signs in through the form and waits for the live inbox. */
export async function signIn(page, base, who) {
  await page.goto(`${base}/`, { timeout: STEP_TIMEOUT_MS });
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.locator("form.auth-form button[type=submit]").click();
  await page.locator('.sidebar .conn[data-state="open"]').waitFor();
}

/** The REST API, for setting up data a scenario is not about. */
export async function api(base, method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}
