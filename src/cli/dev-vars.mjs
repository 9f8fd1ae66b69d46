// Writes the local secrets `npm run dev` needs into .dev.vars (never committed): a random JWT_SECRET,
// SERVER_API_KEYS and WEBHOOK_SECRET for each that is missing, and a VAPID key pair for Web Push when
// the file has none. Values already in the file are kept, so existing sessions and browser push subscriptions
// stay valid. Development-only values (ENVIRONMENT, a local VAPID_SUBJECT) live only here, never in
// .dev.vars.example, which the Deploy button reads.
//
//   node src/cli/dev-vars.mjs          (npm run dev runs it through src/cli/dev.mjs)
//   node src/cli/dev-vars.mjs --vapid  (npm run vapid-keys: prints a fresh pair for `wrangler secret put`)

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const DEV_VARS = join(ROOT, ".dev.vars");

/** A P-256 pair as Web Push wants it: the public key an uncompressed point, both base64url. */
export function vapidKeys() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  return { publicKey: point.toString("base64url"), privateKey: jwk.d };
}

/** A secret of 32 random bytes, hex (64 characters: above every minimum length of the service). */
export const randomSecret = () => randomBytes(32).toString("hex");

/** NAME=value lines of a dotenv file (no quoting or expansion: the values written here need none). */
export function parseDotenv(text) {
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trimStart().startsWith("#")) vars[match[1]] = match[2];
  }
  return vars;
}

/** Completes .dev.vars; returns what it holds. */
export function ensureDevVars() {
  let text = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "ENVIRONMENT=development\n";
  if (text !== "" && !text.endsWith("\n")) text += "\n";
  const has = (name) => new RegExp(`^${name}=.+`, "m").test(text);
  const added = [];
  for (const name of ["JWT_SECRET", "SERVER_API_KEYS", "WEBHOOK_SECRET"]) {
    if (has(name)) continue;
    text += `${name}=${randomSecret()}\n`;
    added.push(name);
  }
  if (!has("VAPID_PUBLIC_KEY") || !has("VAPID_PRIVATE_KEY")) {
    const keys = vapidKeys();
    text += `VAPID_PUBLIC_KEY=${keys.publicKey}\nVAPID_PRIVATE_KEY=${keys.privateKey}\n`;
    added.push("a VAPID key pair");
  }
  // Push services only read the subject to contact an operator; a local one needs no real address.
  if (!has("VAPID_SUBJECT")) {
    text += "VAPID_SUBJECT=mailto:dev@localhost\n";
    added.push("VAPID_SUBJECT");
  }
  if (added.length > 0) {
    writeFileSync(DEV_VARS, text, { mode: 0o600 });
    console.log(`Wrote ${added.join(", ")} to .dev.vars`);
  }
  return parseDotenv(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--vapid")) {
    const keys = vapidKeys();
    console.log(`VAPID_PUBLIC_KEY=${keys.publicKey}\nVAPID_PRIVATE_KEY=${keys.privateKey}`);
  } else {
    ensureDevVars();
  }
}
