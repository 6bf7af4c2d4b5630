/**
 * The error responses of an endpoint, derived from `ApiError.catalogue`: given the error kinds a
 * route can answer with, one response per HTTP status, whose body lists exactly the `error_type`
 * (TEI) or `type` and `code` (OpenAI) values of the kinds with that status. A change to a kind's
 * status or name in `ApiError.ts` changes the document with it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import { catalogue, type Family, type Kind } from "../ApiError.js"
import { ErrorHeaders, OpenAIError, TeiError } from "./Schemas.js"

/** The headers each status may carry (`ApiError.headersOf`). */
const headersByStatus: Readonly<Record<number, ReadonlyArray<keyof typeof ErrorHeaders>>> = {
  401: ["www-authenticate"],
  429: ["retry-after", "retry-after-ms"],
  503: ["retry-after", "retry-after-ms"]
}

const unique = (values: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(values)].sort()

const describeStatus = (kinds: ReadonlyArray<Kind>): string => `Error: ${kinds.join(", ")}`

const withHeaders = (status: number, body: Schema.Top): Schema.Top => {
  const names = headersByStatus[status]
  if (names === undefined) return body.pipe(HttpApiSchema.status(status))
  const headers: Record<string, (typeof ErrorHeaders)[keyof typeof ErrorHeaders]> = {}
  for (const name of names) headers[name] = ErrorHeaders[name]
  return HttpApiSchema.WithHeaders(body, headers).pipe(HttpApiSchema.status(status))
}

/**
 * The kinds a route that uses the model can answer with: a defect, and while the model loads or
 * the server drains. (A wrong method, 405, is not an answer of a documented operation.)
 *
 * @since 0.1.0
 * @category kinds
 */
export const commonKinds: ReadonlyArray<Kind> = ["internal", "model_loading", "shutting_down"]

/**
 * The kinds of a route behind the API key (when one is configured).
 *
 * @since 0.1.0
 * @category kinds
 */
export const authKinds: ReadonlyArray<Kind> = ["unauthorized"]

/**
 * The kinds of an embedding route: every failure of reading, decoding, admitting and computing.
 *
 * @since 0.1.0
 * @category kinds
 */
export const embeddingKinds: ReadonlyArray<Kind> = [
  "invalid_json",
  "body_timeout",
  "invalid_request",
  "payload_too_large",
  "too_many_inputs",
  "unsupported_media_type",
  "input_too_long",
  "tokenization_failed",
  "queue_full",
  "too_many_requests",
  "deadline_exceeded",
  "inference_failed"
]

/**
 * The kinds of reading a request body, before it is decoded.
 *
 * @since 0.1.0
 * @category kinds
 */
export const readKinds: ReadonlyArray<Kind> = [
  "invalid_json",
  "body_timeout",
  "payload_too_large",
  "unsupported_media_type"
]

/**
 * The kinds only TEI routes answer with: no inputs, or an empty one (`Empty`).
 *
 * @since 0.1.0
 * @category kinds
 */
export const teiKinds: ReadonlyArray<Kind> = ["empty_input"]

/**
 * The kinds of a route the loaded model cannot serve (`/embed_all` without token states, TEI's
 * routes of other model types): 424 `Backend`.
 *
 * @since 0.1.0
 * @category kinds
 */
export const unsupportedKinds: ReadonlyArray<Kind> = ["unsupported"]

/**
 * A non-2xx answer that is not an `ApiError` (e.g. `/ready`'s 503 `{"status": "saturated"}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface OtherResponse {
  readonly status: number
  readonly body: Schema.Top
}

/**
 * One error Schema per HTTP status among `kinds`, in the body shape of `family`, annotated with its
 * status (and the headers it may carry), for an endpoint's `error` option. `others` join the
 * error bodies of their status as alternatives.
 *
 * @since 0.1.0
 * @category constructors
 */
export const responses = (
  family: Family,
  kinds: ReadonlyArray<Kind>,
  others: ReadonlyArray<OtherResponse> = []
): ReadonlyArray<Schema.Top> => {
  const wanted = new Set(kinds)
  const byStatus = new Map<number, Array<(typeof catalogue)[number]>>()
  for (const entry of catalogue) {
    if (!wanted.has(entry.kind)) continue
    // TEI routes answer some kinds with TEI's status for their type (`ApiError`'s `teiStatus`)
    const status = family === "tei" ? entry.teiStatus ?? entry.status : entry.status
    const list = byStatus.get(status) ?? []
    list.push(entry)
    byStatus.set(status, list)
  }
  const statuses = new Set([...byStatus.keys(), ...others.map((o) => o.status)])
  return [...statuses].sort((a, b) => a - b).map((status) => {
    const entries = byStatus.get(status) ?? []
    const bodies: Array<Schema.Top> = others.filter((o) => o.status === status).map((o) => o.body)
    if (entries.length > 0) {
      const error = family === "tei"
        ? TeiError(unique(entries.map((e) => e.tei)))
        : OpenAIError(unique(entries.map((e) => e.openai)), unique(entries.map((e) => e.kind)))
      bodies.push(error.annotate({ description: describeStatus(entries.map((e) => e.kind)) }))
    }
    return withHeaders(status, bodies.length === 1 ? bodies[0]! : Schema.Union(bodies))
  })
}
