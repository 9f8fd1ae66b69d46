import type { z } from "zod";
import type { Attachment } from "./models";

/**
 * Rules for text that people type and others see, shared by the REST body schemas and the frame
 * schemas. Patterns are written without the `u` flag so they also see lone surrogates.
 */

/**
 * A lone surrogate cannot be encoded as UTF-8: SQLite (the room's log and D1) stores U+FFFD in its
 * place, so what was acknowledged would differ from what is stored. Refused rather than repaired.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** C0 and C1 control characters except tab, line feed and carriage return (NUL, ESC, DEL, …). */
// oxlint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** In one-line labels (names, titles, client ids) no control character at all. */
// oxlint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_IN_LABEL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): in a name they
 * reorder what is shown around it ("invoice\u202Efdp.exe"). Message bodies may carry them; a
 * label shown in lists and headers may not.
 */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

/** At least one character that is neither whitespace nor zero-width. */
const VISIBLE = /[^\s\u200b-\u200d\u2060\ufeff]/;

export const isWellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

/** A rule: a test and the message for the field that breaks it. */
export interface TextRule {
  test: (text: string) => boolean;
  message: string;
}

const wellFormed: TextRule = { test: isWellFormed, message: "must not contain unpaired surrogates" };

/** Message bodies: any printable text, several lines allowed. */
export const BODY_RULES: readonly TextRule[] = [
  wellFormed,
  { test: (t) => !CONTROL_IN_TEXT.test(t), message: "must not contain control characters" },
  { test: (t) => t.length === 0 || VISIBLE.test(t), message: "must contain a visible character" },
];

/** Names and titles: one line, no direction overrides, something visible. */
export const LABEL_RULES: readonly TextRule[] = [
  wellFormed,
  { test: (t) => !CONTROL_IN_LABEL.test(t), message: "must not contain control characters" },
  { test: (t) => !BIDI_CONTROL.test(t), message: "must not contain bidirectional override characters" },
  { test: (t) => t.length === 0 || VISIBLE.test(t), message: "must contain a visible character" },
];

/** Opaque client-chosen tokens (clientId): stored and echoed exactly. */
export const TOKEN_RULES: readonly TextRule[] = [
  wellFormed,
  { test: (t) => !CONTROL_IN_LABEL.test(t), message: "must not contain control characters" },
];

/** The schema with every rule added as a refinement (each failure is one issue on the field). */
export function withRules<S extends z.ZodType<string>>(schema: S, rules: readonly TextRule[]): S {
  let out = schema;
  for (const rule of rules) out = out.refine(rule.test, rule.message) as S;
  return out;
}

/** How many characters of the original a reply's quote keeps (API.md: the first 200). */
export const QUOTE_CHARS = 200;

/**
 * The quote of a body: its first QUOTE_CHARS characters (code points, never half a surrogate
 * pair). The room stores it; the web client recomputes it when the original is edited live.
 */
export function quoteBody(body: string): string {
  if (body.length <= QUOTE_CHARS) return body;
  let out = "";
  let n = 0;
  for (const ch of body) {
    if (n++ === QUOTE_CHARS) break;
    out += ch;
  }
  return out;
}

/**
 * A message's text for one-line previews (the inbox, notifications): its body, or for a message
 * of files alone what they are ("Photo", "📎 report.pdf", "+2" for more).
 */
export function previewText(message: { body: string; attachments?: readonly Attachment[] }): string {
  const files = message.attachments ?? [];
  if (message.body || files.length === 0) return message.body.replace(/\s+/g, " ").trim();
  const [first] = files;
  const what = first?.width ? "Photo" : `📎 ${first?.name ?? "File"}`;
  return files.length > 1 ? `${what} +${files.length - 1}` : what;
}

/** A size for people: "40 bytes", "512 KB", "1.2 MB" (binary units, as file managers count). */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const kb = bytes / 1024;
  if (kb < 1024) return `${Math.round(kb)} KB`;
  const mb = kb / 1024;
  return `${mb >= 10 || Number.isInteger(mb) ? Math.round(mb) : mb.toFixed(1)} MB`;
}
