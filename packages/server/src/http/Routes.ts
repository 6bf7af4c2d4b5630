/**
 * adabatch's HTTP API as a `Layer` for `effect/http`'s `HttpRouter`, so an Effect application
 * that already serves HTTP can mount `/embed`, `/v1/embeddings` and the rest on its own server,
 * under a path prefix, beside its own routes.
 *
 * The routes are those of the standalone server (`Api.ts`: TEI, OpenAI, probes, `/metrics`,
 * `/openapi.json` and `/docs`, `/dashboard`), answered by the same handler, with the same
 * cross-cutting parts, set by the `ServerConfig` given: the API key, the limits on concurrent
 * embedding requests and on request-body bytes in flight, the body timeout and size limit, and the
 * HTTP metrics (recorded in the metric registry of the fiber, so the host's `PrometheusMetrics`
 * shows adabatch's series beside its own). The model comes from the `Embedder` service in the
 * context (`EngineLayers.layer(config)` from `@adabatch/core` builds the configured one).
 *
 * Closing the Layer's scope drains it: new requests are refused 503 (`Connection: close`), and
 * the scope waits (up to 5 s) until every request adabatch has taken is answered. Built inside
 * `HttpRouter.serve`, the HTTP server's own graceful shutdown (`NodeHttpServer`'s default) stops
 * listening and waits for open requests first; the `Embedder` below it is released last, which
 * terminates the model's worker threads.
 *
 * The standalone server (`Server.ts`) serves the same handler straight from its `HttpServer`
 * without an `HttpRouter`: it routes by a single `Map` lookup and keeps the per-request work of
 * the router (a second path match, the request copied for the prefix, three context entries)
 * off its hot path.
 *
 * @example
 * ```ts
 * import { EngineLayers } from "@adabatch/core"
 * import { Routes, ServerConfig } from "@adabatch/server"
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
 *
 * const config = ServerConfig.make({ model: "tiny" })
 * // /ml/embed, /ml/v1/embeddings, /ml/health, ... on the host's HttpRouter
 * const AdabatchRoutes: Layer.Layer<never, never, HttpRouter.HttpRouter> = Routes.layer(config, { prefix: "/ml" }).pipe(
 *   Layer.provide(EngineLayers.layer(config)),
 *   Layer.orDie
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Embedder, ModelError } from "@adabatch/core"
import { Duration, Effect, Layer, type Redacted, type Scope } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { IncomingMessage } from "node:http"
import type * as Net from "node:net"
import * as Api from "../Api.js"
import { ApiError, type Family, toResponse } from "../ApiError.js"
import * as ApiKey from "../ApiKey.js"
import type { ServerConfig } from "../config/index.js"
import * as DashboardFeed from "../dashboard/Feed.js"
import * as EventLoopMetrics from "../EventLoopMetrics.js"
import * as Prompts from "../routes/Prompts.js"
import { ServerState } from "../ServerState.js"

/**
 * How the routes are mounted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** A path prefix for every route, e.g. `/ml` (`/ml/embed`, `/ml/v1/embeddings`). Default: none. */
  readonly prefix?: `/${string}` | undefined
  /**
   * Answer every other path under the prefix with adabatch's JSON 404 (and `POST {prefix}` as
   * TEI's `POST /`). Default: `true` with a prefix; without one, the host's router answers
   * unknown paths.
   */
  readonly catchAll?: boolean | undefined
  /** Serve `/dashboard` and its feed (a sampler runs once a second). Default `true`. */
  readonly dashboard?: boolean | undefined
  /** Sample the event-loop delay into `adabatch_event_loop_delay_seconds`. Default `true`. */
  readonly eventLoopMetrics?: boolean | undefined
}

/** How long closing the scope waits for the requests taken to be answered. */
const drainGrace = Duration.seconds(5)

/**
 * Marks `state` draining (new requests get 503 and `Connection: close`), then waits until every
 * request taken is answered, for at most 5 s.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const drain = (state: ServerState): Effect.Effect<void> =>
  Effect.suspend(() => {
    state.phase = { _tag: "Draining" }
    return state.awaitIdle.pipe(Effect.timeoutOrElse({ duration: drainGrace, orElse: () => Effect.void }))
  })

/**
 * The routes' shared state, ready with the `Embedder` of the context, drained when the scope
 * closes. Fails when `--default-prompt-name` names a prompt the model does not have.
 */
const readyState = (config: ServerConfig) =>
  Effect.gen(function*() {
    const embedder = yield* Embedder.Embedder
    const promptError = Prompts.checkDefault(config, embedder.info.prompts)
    if (promptError !== undefined) {
      return yield* new ModelError.ModelLoadError({ path: embedder.info.path ?? embedder.info.id, reason: promptError })
    }
    const state = new ServerState()
    state.phase = { _tag: "Ready", embedder }
    yield* Effect.addFinalizer(() => drain(state))
    return state
  })

/**
 * Whether the listener that accepted `request` has stopped listening: the host's server is
 * shutting down (`NodeHttpServer` closes it first, then waits for open requests).
 */
const listenerClosed = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const source = request.source
  if (!(source instanceof IncomingMessage)) return false
  const server = (source.socket as Net.Socket & { readonly server?: Net.Server | undefined }).server
  return server !== undefined && !server.listening
}

/**
 * `handler`, with `Connection: close` on its answers once the host's listener has closed: its
 * server waits for open connections to end, so a keep-alive connection must not outlive the
 * answer (the routes' own drain comes after the server's, as the Layer is released).
 */
const closingWithListener = <E, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request) =>
      Effect.map(handler, (response) =>
        listenerClosed(request) ? HttpServerResponse.setHeader(response, "connection", "close") : response)
  )

/**
 * The paths to register for `app` (its own paths, `/v1/models/:id`, `/models/:id`, and the
 * catch-all `*`), the root one left to the catch-all under a prefix (`{prefix}` is both).
 */
const pathsOf = (app: Api.App, prefixed: boolean, catchAll: boolean): ReadonlyArray<HttpRouter.PathInput> => {
  const paths: Array<HttpRouter.PathInput> = []
  for (const path of app.paths) {
    if (!(prefixed && catchAll && path === "/")) paths.push(path as HttpRouter.PathInput)
  }
  paths.push("/v1/models/:id", "/models/:id")
  if (catchAll) paths.push("*")
  return paths
}

/**
 * The handler of one server on `state` with its companions, as both the standalone server and
 * `layer` build it: the event-loop delay sampled into the metrics, the dashboard's sampler, and
 * `Api.app` over them. Both run until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const app = (
  config: ServerConfig,
  state: ServerState,
  options: Pick<Options, "dashboard" | "eventLoopMetrics"> = {}
): Effect.Effect<Api.App, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.eventLoopMetrics !== false) yield* EventLoopMetrics.sample
    const feed = options.dashboard === false ? undefined : yield* DashboardFeed.make(state)
    return Api.app({ config, state, feed })
  })

/**
 * The API's routes, registered on the `HttpRouter` of the context (all methods of each path go
 * to the handler, which answers 405 with `Allow` for a method a path does not take).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: ServerConfig,
  options: Options = {}
): Layer.Layer<never, ModelError.ModelLoadError, HttpRouter.HttpRouter | Embedder.Embedder> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const state = yield* readyState(config)
    const handlers = yield* app(config, state, options)
    const root = yield* HttpRouter.HttpRouter
    const prefix = options.prefix === undefined || options.prefix === "/" ? undefined : options.prefix
    const router = prefix === undefined ? root : root.prefixed(prefix)
    const catchAll = options.catchAll ?? prefix !== undefined
    const handler = closingWithListener(handlers.handler)
    for (const path of pathsOf(handlers, prefix !== undefined, catchAll)) {
      yield* router.add("*", path, handler)
    }
  }))

/**
 * adabatch's API-key check for the host's own routes: a request without `Authorization: Bearer
 * <key>` (compared in constant time) is answered 401 with `WWW-Authenticate: Bearer` and the body
 * of `family` (TEI's `{"error", "error_type"}` by default), as adabatch's own routes answer it.
 *
 * @example
 * ```ts
 * import { Routes } from "@adabatch/server"
 * import { Effect, Redacted } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const Private = HttpRouter.add(
 *   "GET",
 *   "/private",
 *   Routes.requireApiKey(Redacted.make("secret"))(Effect.succeed(HttpServerResponse.text("ok")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category middleware
 */
export const requireApiKey = (key: Redacted.Redacted<string>, family: Family = "tei") => {
  const check = ApiKey.make(key)
  return <E, R>(
    handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const refusal = check(request.headers["authorization"])
      return refusal === undefined
        ? handler
        : Effect.succeed(
          toResponse(new ApiError({ kind: "unauthorized", message: ApiKey.refusalMessage(refusal) }), family)
        )
    })
}
