import { env } from "cloudflare:workers";
import { type Metrics, metricsFrom } from "./observability/metrics";

/**
 * Structured JSON logs (Workers Logs indexes the fields). Every line passes through `redact`:
 * whatever a caller passes, and whatever a failing library puts in an error message (drizzle
 * appends a failed query's bound values: emails, password hashes, message bodies), no token,
 * password, hash, email address or message body reaches the log.
 */
export function log(
  level: "info" | "warn" | "error",
  event: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify(redact({ level, event, ...fields }));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
  if (level !== "info") {
    const conversationId = typeof fields.conversationId === "string" ? fields.conversationId : undefined;
    failures().failure(event, level, conversationId);
  }
}

let counter: Metrics | undefined;

/**
 * Every warning and error is also counted (a `failure` data point per event, README "Operations"),
 * wherever it is logged from: through the Worker's bindings, which are the same for every request
 * and object of this deployment.
 */
function failures(): Metrics {
  counter ??= metricsFrom(env);
  return counter;
}

/** The name and message of an unknown thrown value (and of its cause), without a stack. */
export function describeError(err: unknown): { name: string; message: string; cause?: string } {
  if (!(err instanceof Error)) return { name: typeof err, message: String(err) };
  // drizzle wraps the driver's error: its cause says what went wrong ("D1_ERROR: …").
  if (err.cause instanceof Error) return { name: err.name, message: err.message, cause: err.cause.message };
  return { name: err.name, message: err.message };
}

/** Fields whose values are never logged, whatever they hold. */
const SECRET_KEY =
  /pass(?:word|wd|phrase)?|secret|token|authori[sz]ation|cookie|e-?mail|hash|credential|^(?:body|text|snippet|params|bindings)$/i;

const MAX_STRING = 2000;
const MAX_DEPTH = 6;

/** Patterns of secrets inside free text (error messages, URLs, notes), with what replaces them. */
const SCRUBS: readonly [RegExp, string][] = [
  // drizzle's "Failed query: <sql>\nparams: <values>": the values are user data.
  [/\bparams:[\s\S]*/gi, "params: [redacted]"],
  [/\b(bearer|basic)\s+[^\s"',;]+/gi, "$1 [redacted]"],
  // Tokens, and socket tickets (credentials too, for their few seconds).
  [/([?&](?:access_token|token|ticket)=)[^&\s"']*/gi, "$1[redacted]"],
  // A JWT (three base64url parts, the first a JSON header) or anything shaped like one.
  [/\beyJ[\w-]*\.[\w-]*(?:\.[\w-]*)?/g, "[token]"],
  [/\b[\w-]{16,}\.[\w-]{16,}\.[\w-]{16,}\b/g, "[token]"],
  // "pbkdf2-sha256$<iterations>$<salt>$<hash>", or any hash of that "$"-separated shape.
  [/\b[\w-]*\$\d+\$[\w+/=.-]+\$[\w+/=.-]+/g, "[password hash]"],
  [/[^\s@"'<>()[\],;:]+@[^\s@"'<>()[\],;:]+\.[^\s@"'<>()[\],;:]+/g, "[email]"],
];

/**
 * SQLite's message inside a D1 error ("D1_ERROR: <message>: SQLITE_<CODE> (extended: …)", and the
 * same without the prefix as its cause). SQLite's own messages name tables, columns and
 * constraints, never values; but a trigger's RAISE text is any expression, and can echo the row it
 * refused (an email, a password hash, a message body). So the message stays only when it is one of
 * SQLite's fixed forms; otherwise it is withheld and the code kept.
 */
const SQLITE_MESSAGE = /([^\n]*?): (SQLITE_[A-Z_]+(?: \(extended: SQLITE_[A-Z_]+\))?)/g;
const IDENT = String.raw`[\w.]+`;
const FIXED_SQLITE_MESSAGE = new RegExp(
  [
    String.raw`(?:D1_ERROR: )?(?:UNIQUE|NOT NULL|CHECK|FOREIGN KEY|PRIMARY KEY) constraint failed(?:: ${IDENT}(?:, ${IDENT})*)?`,
    String.raw`(?:D1_ERROR: )?no such (?:table|column|index|trigger|function|savepoint): ${IDENT}`,
    String.raw`(?:D1_ERROR: )?table ${IDENT} has no column named \w+`,
    String.raw`(?:D1_ERROR: )?(?:database (?:table )?is locked|database or disk is full|disk I/O error|interrupted|too many SQL variables|string or blob too big|datatype mismatch|out of memory)`,
  ]
    .map((form) => `^${form}$`)
    .join("|"),
);

function withholdSqliteMessages(text: string): string {
  return text.replace(SQLITE_MESSAGE, (whole: string, message: string, code: string) => {
    const start = message.lastIndexOf("D1_ERROR: ");
    const own = start >= 0 ? message.slice(start) : message;
    if (FIXED_SQLITE_MESSAGE.test(own)) return whole;
    const before = start >= 0 ? message.slice(0, start) : "";
    return `${before}${start >= 0 ? "D1_ERROR: " : ""}[database message withheld]: ${code}`;
  });
}

function scrub(text: string): string {
  let out = text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}…` : text;
  out = withholdSqliteMessages(out);
  for (const [pattern, replacement] of SCRUBS) out = out.replace(pattern, replacement);
  return out;
}

/** A copy of `value` that is safe to log: secret fields dropped, secret-shaped text replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return typeof value;
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (value instanceof Error) return redact(describeError(value), depth + 1);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}
