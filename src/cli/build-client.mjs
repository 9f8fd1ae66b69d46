// Builds the web client into .build/client, the directory wrangler.toml's [assets] serves: the app
// (src/client/main.ts, one ES module), the service worker (src/client/sw/sw.ts, a classic script) and
// src/client/static. wrangler runs it before every deploy, dry run and `wrangler dev` ([build] in
// wrangler.toml); `npm run build:client` runs it alone.
//
// The app has a budget: the build prints each file's size and fails when the app's minified bundle
// is over BUDGET_BYTES, so a heavy dependency is noticed when it arrives, not in the field.
//
//   node src/cli/build-client.mjs [--analyze]     (--analyze: the largest inputs of the app bundle)

import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** The app bundle's ceiling, minified and uncompressed (what the browser parses). */
const BUDGET_BYTES = 80 * 1024;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = join(ROOT, ".build/client");
const analyze = process.argv.includes("--analyze");

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  target: "es2022",
  write: false,
  metafile: true,
  logLevel: "warning",
};
const [app, sw] = await Promise.all([
  build({
    ...common,
    entryPoints: [join(ROOT, "src/client/main.ts")],
    format: "esm",
    sourcemap: true,
    outfile: join(OUT, "app.js"),
  }),
  build({
    ...common,
    entryPoints: [join(ROOT, "src/client/sw/sw.ts")],
    format: "iife",
    outfile: join(OUT, "sw.js"),
  }),
]);

const { writeFileSync } = await import("node:fs");
const sizes = [];
for (const result of [app, sw]) {
  for (const file of result.outputFiles) {
    writeFileSync(file.path, file.contents);
    if (file.path.endsWith(".js"))
      sizes.push({
        file: file.path,
        bytes: file.contents.byteLength,
        gzip: gzipSync(file.contents).byteLength,
      });
  }
}
cpSync(join(ROOT, "src/client/static"), OUT, { recursive: true });

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const { file, bytes, gzip } of sizes) {
  console.log(`client: ${relative(ROOT, file)} ${kb(bytes)} (gzip ${kb(gzip)})`);
}
if (analyze) {
  const inputs = Object.values(app.metafile.outputs).find((o) => o.entryPoint)?.inputs ?? {};
  const top = Object.entries(inputs)
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
    .slice(0, 25);
  for (const [path, { bytesInOutput }] of top) console.log(`  ${kb(bytesInOutput).padStart(9)}  ${path}`);
}
const appBytes = sizes.find((s) => s.file.endsWith("app.js"))?.bytes ?? 0;
if (appBytes > BUDGET_BYTES) {
  console.error(
    `client: app.js is ${kb(appBytes)}, over its budget of ${kb(BUDGET_BYTES)} (src/cli/build-client.mjs)`,
  );
  process.exit(1);
}
console.log(`client: app.js within its budget of ${kb(BUDGET_BYTES)}`);
