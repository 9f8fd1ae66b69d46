import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code of API.md, with the HTTP status it travels with. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  email_taken: 409,
  payload_too_large: 413,
  validation_failed: 422,
  upgrade_required: 426,
  rate_limited: 429,
  internal: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** The JSON body of every error response (API.md, "Errors"). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetail[] };
}

/** The one error type: thrown anywhere, turned into a response in one place (app.onError). */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.details && this.details.length > 0) error.details = this.details;
    return { error };
  }

  toResponse(headers: HeadersInit = {}): Response {
    const h = new Headers(headers);
    h.set("content-type", "application/json; charset=utf-8");
    if (this.retryAfterSeconds !== undefined) h.set("retry-after", String(this.retryAfterSeconds));
    return new Response(JSON.stringify(this.toBody()), { status: this.status, headers: h });
  }
}

export const notFound = (what = "Not found"): ApiError => new ApiError("not_found", what);

/**
 * Errors thrown inside a Durable Object reach the Worker through RPC as plain Errors that keep only
 * their message. ApiErrors are encoded into the message so the Worker can rebuild them exactly.
 */
const RPC_PREFIX = "ApiError:";

export function encodeForRpc(err: ApiError): Error {
  return new Error(RPC_PREFIX + JSON.stringify({ ...err.toBody().error, retry: err.retryAfterSeconds }));
}

export function decodeFromRpc(err: unknown): ApiError | null {
  if (!(err instanceof Error) || !err.message.startsWith(RPC_PREFIX)) return null;
  try {
    const raw: unknown = JSON.parse(err.message.slice(RPC_PREFIX.length));
    if (typeof raw !== "object" || raw === null) return null;
    const { code, message, details, retry } = raw as Record<string, unknown>;
    if (typeof code !== "string" || !(code in ERROR_STATUS) || typeof message !== "string") return null;
    return new ApiError(code as ErrorCode, message, {
      details: Array.isArray(details) ? (details as ErrorDetail[]) : undefined,
      retryAfterSeconds: typeof retry === "number" ? retry : undefined,
    });
  } catch {
    return null;
  }
}
