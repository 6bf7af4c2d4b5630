/**
 * `ApiError`: every failure the HTTP API answers with, and how it is rendered for each API family:
 * TEI-style `{"error", "error_type"}` on `/embed` and the non-OpenAI routes, OpenAI-style
 * `{"error": {"message", "type", "param", "code"}}` on `/v1/*`.
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
  | "unauthorized"
  | "not_found"
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

interface KindInfo {
  readonly status: number
  /** TEI `error_type`. */
  readonly tei: string
  /** OpenAI `error.type`. */
  readonly openai: string
}

const kinds: Record<Kind, KindInfo> = {
  invalid_json: { status: 400, tei: "validation", openai: "invalid_request_error" },
  invalid_request: { status: 400, tei: "validation", openai: "invalid_request_error" },
  unauthorized: { status: 401, tei: "unauthorized", openai: "authentication_error" },
  not_found: { status: 404, tei: "not_found", openai: "invalid_request_error" },
  method_not_allowed: { status: 405, tei: "method_not_allowed", openai: "invalid_request_error" },
  payload_too_large: { status: 413, tei: "payload_too_large", openai: "invalid_request_error" },
  too_many_inputs: { status: 413, tei: "validation", openai: "invalid_request_error" },
  unsupported_media_type: { status: 415, tei: "unsupported_media_type", openai: "invalid_request_error" },
  input_too_long: { status: 422, tei: "validation", openai: "invalid_request_error" },
  tokenization_failed: { status: 422, tei: "tokenizer", openai: "invalid_request_error" },
  queue_full: { status: 429, tei: "overloaded", openai: "overloaded_error" },
  too_many_requests: { status: 429, tei: "overloaded", openai: "overloaded_error" },
  model_loading: { status: 503, tei: "unhealthy", openai: "service_unavailable_error" },
  shutting_down: { status: 503, tei: "unhealthy", openai: "service_unavailable_error" },
  deadline_exceeded: { status: 504, tei: "timeout", openai: "timeout_error" },
  body_timeout: { status: 408, tei: "timeout", openai: "timeout_error" },
  inference_failed: { status: 500, tei: "backend", openai: "server_error" },
  unhealthy: { status: 503, tei: "unhealthy", openai: "service_unavailable_error" },
  internal: { status: 500, tei: "internal", openai: "server_error" }
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
  /** The HTTP status of this error. */
  get status(): number {
    return kinds[this.kind].status
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
    status: error.status,
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
