// Writes the local secrets `npm run dev` needs into .dev.vars (never committed): a random JWT_SECRET
// and SERVER_API_KEYS for each that is missing, and a VAPID key pair for Web Push when the file has
// none. Values already in the file are kept, so existing sessions and browser push subscriptions
// stay valid.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const FILE = ".dev.vars";

/** A P-256 pair as Web Push wants it: the public key an uncompressed point, both base64url. */
function vapidKeys() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  return { publicKey: point.toString("base64url"), privateKey: jwk.d };
}

let text = existsSync(FILE) ? readFileSync(FILE, "utf8") : "ENVIRONMENT=development\n";
if (text !== "" && !text.endsWith("\n")) text += "\n";
const has = (name) => new RegExp(`^${name}=.+`, "m").test(text);
const added = [];
for (const name of ["JWT_SECRET", "SERVER_API_KEYS"]) {
  if (has(name)) continue;
  text += `${name}=${randomBytes(32).toString("hex")}\n`;
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
  writeFileSync(FILE, text);
  console.log(`Wrote ${added.join(", ")} to ${FILE}`);
}
