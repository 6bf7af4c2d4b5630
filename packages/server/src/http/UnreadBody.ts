/**
 * What the handler does with a request body it has not read when it answers, and with the
 * connection while the server drains. A body left unread on a connection that then closes makes
 * the kernel reset it, and the client could lose the answer: such a body is read and dropped first,
 * unless the HTTP adapter discards it after the response on a connection that stays open.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Headers } from "effect/http"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import { IncomingMessage } from "node:http"
import type { ServerConfig } from "../config/index.js"
import type { ServerState } from "../ServerState.js"
import * as Body from "./Body.js"

type Response = HttpServerResponse.HttpServerResponse
type Request = HttpServerRequest.HttpServerRequest

/** What the HTTP adapter discards of an unread body after the response, keeping the connection. */
const discardedAfter = 256 * 1024

/**
 * The checks of one server.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnreadBody {
  /** While draining, responses ask the client to close the connection (and reconnect elsewhere). */
  readonly closeWhileDraining: (response: Response) => Response
  /**
   * Whether the request carries a body that can still be read within the limit. Such a body is
   * read (and dropped) before an error is answered.
   */
  readonly hasReadableBody: (headers: Headers.Headers) => boolean
  /** Reads and drops the rest of the body (for at most the body timeout), holding none of it. */
  readonly drain: (request: Request) => Effect.Effect<void>
  /**
   * Whether the connection stays open after `response` with the unread body discarded after it.
   * Then the body need not be read first: the HTTP adapter discards it from the wire once the
   * response is sent, up to 256 KiB (past that it closes the connection instead, so a larger or
   * chunked body is discarded first, which holds none of it in memory either).
   */
  readonly keepsAlive: (request: Request, headers: Headers.Headers, response: Response) => boolean
}

/**
 * The checks of the server whose state is `state`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: ServerConfig, state: ServerState): UnreadBody => ({
  closeWhileDraining: (response) =>
    state.phase._tag === "Draining" && !state.holdConnections
      ? HttpServerResponse.setHeader(response, "connection", "close")
      : response,
  hasReadableBody: (headers) => {
    const length = headers["content-length"]
    if (length === undefined) return headers["transfer-encoding"] !== undefined
    const n = Number(length)
    return n > 0 && n <= config.payloadLimit
  },
  drain: (request) =>
    request.source instanceof IncomingMessage ? Body.discard(request.source, config.bodyTimeoutMs) : Effect.void,
  keepsAlive: (request, headers, response) =>
    state.keepsConnections() && response.headers["connection"] !== "close" &&
    headers["connection"]?.toLowerCase() !== "close" && request.source instanceof IncomingMessage &&
    request.source.httpVersion === "1.1" && Number(headers["content-length"]) <= discardedAfter
})
