// Finds an installed Chromium or Chrome (never downloads one) and launches it with playwright-core.

import { accessSync, constants } from "node:fs";
import { chromium } from "playwright-core";

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-quic",
  "--no-first-run",
  "--disable-sync",
];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROME_PATH first, then Debian's and Google's usual paths; null when there is none. */
export function findBrowser() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (executable(fromEnv)) return fromEnv;
    console.log(`e2e: CHROME_PATH=${fromEnv} is not an executable file; looking elsewhere`);
  }
  return CANDIDATES.find(executable) ?? null;
}

export function launchBrowser(executablePath) {
  return chromium.launch({ executablePath, headless: true, args: ARGS, timeout: 30_000 });
}
