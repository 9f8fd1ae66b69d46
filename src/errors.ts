import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorBody, ErrorCode, ErrorDetail } from "./protocol/errors";

/** The HTTP status each error code of API.md travels with. */
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
  /** A feature the operator has not configured (Web Push without VAPID keys). */
  unavailable: 503,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

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
 * What a Durable Object's RPC method returns: an error thrown across RPC keeps only its message and
 * is logged by the runtime as uncaught, so expected failures travel as values and the Worker
 * rethrows them as the same ApiError.
 */
export type RpcResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: { code: ErrorCode; message: string; details?: ErrorDetail[]; retryAfterSeconds?: number };
    };

export function rpcFailure(err: ApiError): RpcResult<never> {
  const error: Extract<RpcResult<never>, { ok: false }>["error"] = { code: err.code, message: err.message };
  if (err.details) error.details = err.details;
  if (err.retryAfterSeconds !== undefined) error.retryAfterSeconds = err.retryAfterSeconds;
  return { ok: false, error };
}

export function unwrapRpc<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  const { code, message, details, retryAfterSeconds } = result.error;
  throw new ApiError(code, message, { details, retryAfterSeconds });
}
