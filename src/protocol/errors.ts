import * as z from "zod";

/**
 * The error vocabulary of API.md, shared by REST error bodies, socket `error` events and the web
 * client. The HTTP status of each code lives with the server's error type (src/errors.ts).
 */
export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "invalid_credentials",
  "forbidden",
  "not_found",
  "conflict",
  "email_taken",
  "payload_too_large",
  "validation_failed",
  "upgrade_required",
  "rate_limited",
  "internal",
  "unavailable",
] as const;

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** One field that broke a rule: `path` names it ("participantIds", "body", "(body)" for the whole). */
export const ErrorDetailSchema = z.object({ path: z.string(), message: z.string() });
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

/** The JSON body of every error response (API.md, "Errors"). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.array(ErrorDetailSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
