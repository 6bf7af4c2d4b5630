/**
 * The dashboard's routes: `GET /dashboard` (the page) and `GET /dashboard/feed` (its samples, as
 * JSON; `?since=<Unix seconds>` for the newer ones only).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiError, invalidField } from "../ApiError.js"
import type { Feed } from "./Feed.js"
import * as Page from "./Page.js"

type Response = HttpServerResponse.HttpServerResponse

/**
 * `GET /dashboard`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const page = (): Effect.Effect<Response, ApiError> =>
  Effect.try({
    try: () => HttpServerResponse.html(Page.html()),
    catch: (e) => new ApiError({ kind: "internal", message: `cannot build the dashboard page: ${String(e)}` })
  })

const since = (url: string): number | undefined | ApiError => {
  const q = url.indexOf("?")
  if (q === -1) return undefined
  const value = new URLSearchParams(url.slice(q + 1)).get("since")
  if (value === null || value === "") return undefined
  const n = Number(value)
  return Number.isFinite(n) ? n : invalidField("since", "must be a number (Unix seconds)")
}

/**
 * `GET /dashboard/feed`, from the server's sampler.
 *
 * @since 0.1.0
 * @category handlers
 */
export const feed =
  (source: Feed) => (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Response, ApiError> => {
    const after = since(request.url)
    if (after instanceof ApiError) return Effect.fail(after)
    return Effect.succeed(
      HttpServerResponse.text(JSON.stringify(source.body(after)), {
        contentType: "application/json",
        headers: { "cache-control": "no-store" }
      })
    )
  }
