/**
 * `ApiError`: every failure the HTTP API answers with, and how it is rendered for each API family:
 * TEI-style `{"error", "error_type"}` on `/embed` and the non-OpenAI routes, OpenAI-style
 * `{"error": {"message", "type", "param", "code"}}` on `/v1/*`.
 *
 * TEI family: `error_type` is always one of TEI's six values (`Validation`, `Empty`, `Tokenizer`,
 * `Overloaded`, `Backend`, `Unhealthy`) and the status follows TEI's server: `Validation` and
 * `Tokenizer` 422, `Empty` 400, `Overloaded` 429, `Backend` 424, `Unhealthy` 503. Failures TEI has
 * no type for keep their own status (400 for malformed JSON, 401, 404, 405, 413 for the body size,
 * 415, 408 for a body that stalled, 504 for a missed deadline, 500) with the nearest type (`Validation` for client errors,
 * `Overloaded` for a deadline missed in the queue, `Backend` for an internal error).
 *
 * @since 0.1.0
 */
import { BatchError } from "@adabatch/core"
import { HttpServerResponse } from "effect/http"

/**
 * The kinds of failure, each with a fixed HTTP status.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind =
  | "invalid_json"
  | "invalid_request"
  | "empty_input"
  | "unsupported"
  | "unauthorized"
  | "not_found"
  | "model_not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "too_many_inputs"
  | "unsupported_media_type"
  | "input_too_long"
  | "tokenization_failed"
  | "queue_full"
  | "too_many_requests"
  | "model_loading"
  | "shutting_down"
  | "deadline_exceeded"
  | "body_timeout"
  | "inference_failed"
  | "unhealthy"
  | "internal"

/**
 * TEI's error types (`ErrorType` in its router), as its server sends them.
 *
 * @since 0.1.0
 * @category models
 */
export type TeiErrorType = "Unhealthy" | "Backend" | "Overloaded" | "Validation" | "Tokenizer" | "Empty"

interface KindInfo {
  /** The status on OpenAI-style routes. */
  readonly status: number
  /** The status on TEI-style routes, when it differs (TEI's own for this type). */
  readonly teiStatus?: number
  /** TEI `error_type`. */
  readonly tei: TeiErrorType
  /** OpenAI `error.type`. */
  readonly openai: string
}

const kinds: Record<Kind, KindInfo> = {
  invalid_json: { status: 400, tei: "Validation", openai: "invalid_request_error" },
  invalid_request: { status: 400, teiStatus: 422, tei: "Validation", openai: "invalid_request_error" },
  empty_input: { status: 400, tei: "Empty", openai: "invalid_request_error" },
  unsupported: { status: 400, teiStatus: 424, tei: "Backend", openai: "invalid_request_error" },
  unauthorized: { status: 401, tei: "Validation", openai: "authentication_error" },
  not_found: { status: 404, tei: "Validation", openai: "invalid_request_error" },
  model_not_found: { status: 404, tei: "Validation", openai: "invalid_request_error" },
  method_not_allowed: { status: 405, tei: "Validation", openai: "invalid_request_error" },
  payload_too_large: { status: 413, tei: "Validation", openai: "invalid_request_error" },
  too_many_inputs: { status: 413, teiStatus: 422, tei: "Validation", openai: "invalid_request_error" },
  unsupported_media_type: { status: 415, tei: "Validation", openai: "invalid_request_error" },
  input_too_long: { status: 422, tei: "Validation", openai: "invalid_request_error" },
  tokenization_failed: { status: 422, tei: "Tokenizer", openai: "invalid_request_error" },
  queue_full: { status: 429, tei: "Overloaded", openai: "overloaded_error" },
  too_many_requests: { status: 429, tei: "Overloaded", openai: "overloaded_error" },
  model_loading: { status: 503, tei: "Unhealthy", openai: "service_unavailable_error" },
  shutting_down: { status: 503, tei: "Unhealthy", openai: "service_unavailable_error" },
  deadline_exceeded: { status: 504, tei: "Overloaded", openai: "timeout_error" },
  body_timeout: { status: 408, tei: "Validation", openai: "timeout_error" },
  inference_failed: { status: 500, teiStatus: 424, tei: "Backend", openai: "server_error" },
  unhealthy: { status: 503, tei: "Unhealthy", openai: "service_unavailable_error" },
  internal: { status: 500, tei: "Backend", openai: "server_error" }
}

/**
 * One API failure. `message` says what was wrong in words a client can act on (for request
 * errors it names the field and what was expected). An answer, not a bug: it captures no stack
 * trace (`BatchError.Outcome`), so refusing under overload stays cheap.
 *
 * @since 0.1.0
 * @category errors
 */
export class ApiError extends BatchError.Outcome("ApiError")<{
  readonly kind: Kind
  readonly message: string
  /** The request field at fault, if any (OpenAI `error.param`). */
  readonly param?: string | undefined
  /** Sent as `Retry-After` (whole seconds, at least 1) and `retry-after-ms`. */
  readonly retryAfterMs?: number | undefined
  /** Sent as `Allow` on 405. */
  readonly allow?: ReadonlyArray<string> | undefined
  /** Ask the client to close the connection (a body that stalled: what is left of it is not read). */
  readonly closeConnection?: boolean | undefined
}> {
  /** The HTTP status of this error on OpenAI-style routes. */
  get status(): number {
    return kinds[this.kind].status
  }
  /** The HTTP status of this error in the given family. */
  statusIn(family: Family): number {
    const info = kinds[this.kind]
    return family === "tei" ? info.teiStatus ?? info.status : info.status
  }
  /** TEI's `error_type` of this error. */
  get teiType(): TeiErrorType {
    return kinds[this.kind].tei
  }
}

/**
 * The two error body shapes.
 *
 * @since 0.1.0
 * @category models
 */
export type Family = "tei" | "openai"

const headersOf = (error: ApiError): Record<string, string> => {
  const headers: Record<string, string> = {}
  if (error.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)))
    headers["retry-after-ms"] = String(Math.max(1, Math.round(error.retryAfterMs)))
  }
  if (error.allow !== undefined) headers["allow"] = error.allow.join(", ")
  if (error.closeConnection === true) headers["connection"] = "close"
  if (error.kind === "unauthorized") headers["www-authenticate"] = "Bearer"
  return headers
}

/**
 * The JSON body of an error, in the given family's shape.
 *
 * @since 0.1.0
 * @category rendering
 */
export const body = (error: ApiError, family: Family): string => {
  const info = kinds[error.kind]
  return family === "tei"
    ? JSON.stringify({ error: error.message, error_type: info.tei })
    : JSON.stringify({
      error: { message: error.message, type: info.openai, param: error.param ?? null, code: error.kind }
    })
}

/**
 * Renders an error as an HTTP response, in the given family's shape.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toResponse = (error: ApiError, family: Family): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(body(error, family), {
    status: error.statusIn(family),
    contentType: "application/json",
    headers: headersOf(error)
  })

/**
 * A 400 for a request field: `param` is the field's path, `expected` what it must be.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidField = (param: string, expected: string): ApiError =>
  new ApiError({ kind: "invalid_request", message: `invalid request: "${param}" ${expected}`, param })

/**
 * Every kind with its HTTP status and the `error_type` (TEI) and `type` (OpenAI) it is sent with:
 * the OpenAPI document derives its error responses from this table, so it cannot drift from what
 * `toResponse` sends.
 *
 * @since 0.1.0
 * @category rendering
 */
export const catalogue: ReadonlyArray<{ readonly kind: Kind } & KindInfo> = Object.entries(kinds).map((
  [kind, info]
) => ({ kind: kind as Kind, ...info }))
