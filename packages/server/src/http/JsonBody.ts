/**
 * The JSON body of an embedding request, from the headers to the parsed value, each refusal
 * answered as early as it can be:
 *
 * - 415 for a content type other than JSON, or a `Content-Encoding` other than `gzip`, `deflate`,
 *   `br` (or several of them) and `identity`;
 * - 413 for a `Content-Length` over the payload limit, before anything is read;
 * - 429 with `Retry-After` when the body's `Content-Length` does not fit in the budget of bytes in
 *   flight, before anything is read (a body without one is counted as it arrives);
 * - then the body is read (`Body.read`): 413 past the limit (received or decoded), 408 past the
 *   body timeout, 400 for data that is not valid for its encoding;
 * - 400 if it is not valid UTF-8 or not valid JSON.
 *
 * @since 0.1.0
 */
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Result } from "effect"
import type { Headers, HttpServerRequest } from "effect/http"
import { IncomingMessage } from "node:http"
import { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import * as Requests from "../wire/Requests.js"
import * as Body from "./Body.js"
import type { InflightBytes, Reservation } from "./InflightBytes.js"

/**
 * What the handler keeps of a body read: the reservation to release when the request ends, and
 * whether there is body left to drain before an answer that closes the connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tracker {
  /** Released by the handler when the request ends. */
  reservation: Reservation | undefined
  /** Nothing left to drain: the body was read in full, or it stalled (draining would wait for it). */
  bodyRead: boolean
}

const isJsonContentType = (value: string | undefined): boolean => {
  if (value === undefined) return true
  const semi = value.indexOf(";")
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))
}

/**
 * Sends `100 Continue` to a client that waits for it (`Expect: 100-continue`), once the request
 * passed every check made before its body is read.
 */
const sendContinue = (request: HttpServerRequest.HttpServerRequest, headers: Headers.Headers): void => {
  if (headers["expect"]?.toLowerCase() !== "100-continue") return
  const response = NodeHttpServerRequest.toServerResponse(request)
  if (!response.headersSent && "writeContinue" in response) response.writeContinue()
}

/**
 * The body reader of a server: `budget` is shared by all its requests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: ServerConfig, budget: InflightBytes) => {
  const limit = config.payloadLimit

  const tooLarge = (bytes: number | undefined, decoded = false): ApiError =>
    new ApiError({
      kind: "payload_too_large",
      message: `${decoded ? "decoded request body" : "request body"} ` +
        `${bytes === undefined ? "is" : `of ${bytes} bytes is`} larger than the limit of ${limit} bytes ` +
        "(ADABATCH_PAYLOAD_LIMIT)"
    })

  const overBudget = new ApiError({
    kind: "too_many_requests",
    message: `request bodies in flight would exceed the budget of ${budget.budget} bytes ` +
      "(ADABATCH_MAX_INFLIGHT_BYTES); retry later",
    retryAfterMs: 1000
  })

  const fromBodyError = (e: Body.BodyError, encoding: string | undefined, tracker: Tracker): ApiError => {
    switch (e.reason) {
      case "TooLarge":
        return tooLarge(undefined)
      case "DecodedTooLarge":
        return tooLarge(undefined, true)
      case "OverBudget":
        return overBudget
      case "Timeout":
        tracker.bodyRead = true // it stalled: answer now and close
        return new ApiError({
          kind: "body_timeout",
          message: `the request body did not arrive within ${config.bodyTimeoutMs} ms (ADABATCH_BODY_TIMEOUT_MS)`,
          closeConnection: true
        })
      case "BadEncoding":
        return new ApiError({
          kind: "invalid_json",
          message: `the request body is not valid ${encoding} data (Content-Encoding: ${encoding}): ${e.detail}`
        })
      case "Aborted":
        return new ApiError({ kind: "invalid_json", message: `cannot read the request body: ${e.detail}` })
    }
  }

  /** Reads and parses the JSON body of `request` (see the module doc). */
  return (
    request: HttpServerRequest.HttpServerRequest,
    headers: Headers.Headers,
    tracker: Tracker
  ): Effect.Effect<unknown, ApiError> => {
    if (!isJsonContentType(headers["content-type"])) {
      return Effect.fail(
        new ApiError({
          kind: "unsupported_media_type",
          message: `unsupported content type ${JSON.stringify(headers["content-type"])}: send application/json`
        })
      )
    }
    const encoding = headers["content-encoding"]
    const coding = Body.codings(encoding)
    if ("unsupported" in coding) {
      return Effect.fail(
        new ApiError({
          kind: "unsupported_media_type",
          message: `unsupported content encoding ${JSON.stringify(coding.unsupported)}: send the body ` +
            "uncompressed, or compressed with gzip, deflate or br"
        })
      )
    }
    const length = headers["content-length"]
    const declared = length === undefined ? 0 : Number(length)
    if (declared > limit) return Effect.fail(tooLarge(declared))
    const source = request.source
    if (!(source instanceof IncomingMessage)) {
      return Effect.fail(
        new ApiError({ kind: "internal", message: "cannot read the request body: not a Node request" })
      )
    }
    const reservation = budget.reserve(declared)
    if (reservation === undefined) return Effect.fail(overBudget)
    tracker.reservation = reservation
    sendContinue(request, headers)
    const read = Body.read(source, {
      limit,
      timeoutMs: config.bodyTimeoutMs,
      codings: coding.codings,
      reservation,
      length: length === undefined ? undefined : declared
    })
    return Effect.flatMap(
      Effect.mapError(read, (e) => fromBodyError(e, encoding, tracker)),
      (bytes) => Effect.fromResult(Result.flatMap(Requests.decodeUtf8(bytes), Requests.parseJson))
    )
  }
}
