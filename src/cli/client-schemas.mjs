// Generates src/protocol/client-schemas.ts: what the server sends (src/protocol's models, responses,
// error bodies, socket events) as schemas of src/protocol/validate.ts for the web client. Those
// validate as zod does in about a kilobyte (zod was most of the client's bundle, and zod/mini still
// 22 KB of it); the Worker and the tests keep the zod schemas, and this file is derived from them,
// never written by hand, so the two cannot drift: `npm run typecheck` runs this with --check and
// fails when the file is not what the current schemas give (and tsc checks each generated schema's
// type against its zod schema's output).
//
//   node src/cli/client-schemas.mjs [--check]      (npm run schemas:client writes it)
//
// Only what the server sends is converted, so only what those schemas use is supported (objects,
// strings, integers, booleans, enums, literals, arrays, nullable, optional, unions); anything else
// (a refinement, a transform, a default) stops the generator with the schema's path.

// oxlint-disable no-underscore-dangle -- a zod schema's definition is read through `_zod`, what zod 4
// offers libraries that walk schemas
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OUT = "src/protocol/client-schemas.ts";

/** Where the converted schemas come from: every exported `…Schema` of each module, or the listed ones. */
const SOURCES = [
  { module: "errors", names: ["ErrorCodeSchema", "ErrorDetailSchema", "ErrorBodySchema"] },
  { module: "models" },
  { module: "responses" },
  { module: "frames", names: ["RoomEventSchema", "InboxEventSchema"] },
];

const entry = SOURCES.map(({ module }) => `export * as ${module} from "./src/protocol/${module}";`).join(
  "\n",
);
const bundled = await build({
  stdin: { contents: entry, resolveDir: ROOT, loader: "ts" },
  bundle: true,
  platform: "node",
  format: "esm",
  write: false,
  logLevel: "error",
});
const modules = await import(
  `data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].contents).toString("base64")}`
);

/** schema → [module, name] of every schema converted under its own name. */
const named = new Map();
for (const { module, names } of SOURCES) {
  const exports = modules[module];
  for (const name of names ?? Object.keys(exports).filter((n) => n.endsWith("Schema"))) {
    const schema = exports[name];
    if (!schema?._zod) throw new Error(`${module}.${name} is not a zod schema`);
    if (!named.has(schema)) named.set(schema, [module, name]);
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const key = (k) => (IDENT.test(k) ? k : JSON.stringify(k));
const emitted = new Set();
const statements = [];

function emitNamed(schema) {
  const [module, name] = named.get(schema);
  if (emitted.has(name)) return name;
  emitted.add(name);
  const code = convert(schema, `${module}.${name}`, schema);
  statements.push(`export const ${name}: Schema<output<typeof ${module}.${name}>> = ${code};`);
  return name;
}

function unsupported(path, what) {
  throw new Error(
    `${path}: ${what} has no counterpart in src/protocol/validate.ts; extend it and this generator`,
  );
}

/** `name(min, max)` with the bounds given, trailing defaults left out. */
const call = (name, min, max) =>
  max !== undefined
    ? `${name}(${min ?? "undefined"}, ${max})`
    : min !== undefined
      ? `${name}(${min})`
      : `${name}()`;

function numberChecks(checks, path) {
  let base = "number";
  let min;
  let max;
  for (const { _zod } of checks ?? []) {
    const def = _zod.def;
    if (def.check === "number_format" && def.format === "safeint") base = "int";
    else if (def.check === "greater_than" && def.inclusive) min = Math.max(min ?? -Infinity, def.value);
    else if (def.check === "less_than" && def.inclusive) max = Math.min(max ?? Infinity, def.value);
    else unsupported(path, `the number check ${def.check}${def.format ? ` ${def.format}` : ""}`);
  }
  return call(base, min, max);
}

function stringChecks(checks, path) {
  let min;
  let max;
  for (const { _zod } of checks ?? []) {
    const def = _zod.def;
    if (def.check === "min_length") min = Math.max(min ?? 0, def.minimum);
    else if (def.check === "max_length") max = Math.min(max ?? Infinity, def.maximum);
    else unsupported(path, `the string check ${def.check}`);
  }
  return call("string", min, max);
}

function convert(schema, path, self) {
  if (schema !== self && named.has(schema)) return emitNamed(schema);
  const def = schema._zod.def;
  if (def.checks?.length && !["string", "number", "array"].includes(def.type)) {
    unsupported(path, `a check on a ${def.type}`);
  }
  switch (def.type) {
    case "string":
      return stringChecks(def.checks, path);
    case "number":
      return numberChecks(def.checks, path);
    case "boolean":
      return "boolean()";
    case "null":
      return "literal(null)";
    case "nullable":
      return `nullable(${convert(def.innerType, path, self)})`;
    case "optional":
      return `optional(${convert(def.innerType, path, self)})`;
    case "array":
      if (def.checks?.length) unsupported(path, "an array length check");
      return `array(${convert(def.element, `${path}[]`, self)})`;
    case "enum":
      return `enumOf(${JSON.stringify(Object.values(def.entries))})`;
    case "literal":
      if (def.values.length !== 1) unsupported(path, "a literal of several values");
      return `literal(${JSON.stringify(def.values[0])})`;
    case "object": {
      const catchall = def.catchall?._zod.def.type;
      if (catchall !== undefined && catchall !== "never")
        unsupported(path, `an object with a ${catchall} catchall`);
      const fields = Object.entries(def.shape).map(
        ([k, v]) => `${key(k)}: ${convert(v, `${path}.${k}`, self)}`,
      );
      return `object({ ${fields.join(", ")} }${catchall === "never" ? ", true" : ""})`;
    }
    case "union":
      // A discriminated union too: its options' tags differ, so the first that accepts is the one.
      return `union([${def.options.map((o, i) => convert(o, `${path}|${i}`, self)).join(", ")}])`;
    default:
      return unsupported(path, `a ${def.type}`);
  }
}

for (const schema of named.keys()) emitNamed(schema);

const used = [
  "array",
  "boolean",
  "enumOf",
  "int",
  "literal",
  "nullable",
  "number",
  "object",
  "optional",
  "string",
  "union",
].filter((name) => statements.some((st) => st.includes(`${name}(`)));
const source = `// Generated by \`npm run schemas:client\` (src/cli/client-schemas.mjs) from the zod schemas of
// src/protocol: do not edit. What the server sends, checked by src/protocol/validate.ts in the web client.
import type { output } from "zod";
${SOURCES.map(({ module }) => `import type * as ${module} from "./${module}";`).join("\n")}
import { type Schema, ${used.join(", ")} } from "./validate";

${statements.join("\n\n")}
`;

const formatted = spawnSync(
  process.execPath,
  [join(ROOT, "node_modules/oxfmt/bin/oxfmt"), `--stdin-filepath=${OUT}`],
  { cwd: ROOT, input: source, encoding: "utf8" },
);
if (formatted.status !== 0) throw new Error(`oxfmt failed: ${formatted.stderr}`);

const path = join(ROOT, OUT);
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch {
    // missing: stale
  }
  if (current !== formatted.stdout) {
    console.error(`${OUT} is stale: the protocol's schemas changed. Run \`npm run schemas:client\`.`);
    process.exit(1);
  }
} else {
  writeFileSync(path, formatted.stdout);
  console.log(`wrote ${OUT} (${named.size} schemas)`);
}
