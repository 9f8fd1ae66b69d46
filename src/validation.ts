import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError } from "./errors";
import type { ErrorDetail } from "./protocol/errors";

/** Zod issues as API.md's per-field details. */
export function issueDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "(body)",
    message: issue.message,
  }));
}

export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, what = "Request body"): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError("validation_failed", `${what} is invalid`, { details: issueDetails(result.error) });
  }
  return result.data;
}

/**
 * A Hono validator for a JSON body. Content type and size were checked by the body guard in app.ts;
 * malformed JSON is a 400 (thrown by Hono's validator), a rule broken is a 422 with details.
 */
export function jsonBody<S extends z.ZodType>(pick: (c: { env: Env }) => S) {
  return validator("json", (value, c) => parseOrThrow(pick(c) as z.ZodType<z.output<S>>, value));
}

/** A Hono validator for the query string: a schema, or one built from the request's settings. */
export function queryOf<S extends z.ZodType>(schema: S | ((c: { env: Env }) => S)) {
  return validator("query", (value: ValidationTargets["query"], c) =>
    parseOrThrow(
      (typeof schema === "function" ? schema(c) : schema) as z.ZodType<z.output<S>>,
      value,
      "Query",
    ),
  );
}
