/**
 * The HTTP API as one request handler: routing, API key, body limits, decoding, the call into
 * the `Embedder`, response encoding, error rendering and request metrics.
 *
 * Routes:
 * - `POST /embed` (TEI; also `POST /` and `/invocations`): `{"inputs", "normalize"?, "truncate"?,
 *   "truncation_direction"?, "prompt_name"?, "dimensions"?}` -> `number[][]` (`routes/Embed.ts`);
 * - `POST /embed_all`, `/tokenize`, `/decode` (TEI; `routes/EmbedAll.ts`, `routes/Tokenize.ts`);
 * - `POST /v1/embeddings` (OpenAI; also `/embeddings`): `{"input", "model"?, "encoding_format"?,
 *   "dimensions"?, "user"?}` -> `{"object": "list", "data", "model", "usage"}`;
 * - `GET /v1/models` (also `/models`) and `/v1/models/{id}` (`routes/Models.ts`);
 * - `GET /health` (also `GET /` and `/ping`, as TEI): 200 once the model is loaded and a worker answers;
 * - `GET /ready`: 200 when new work would be taken at once; 503 while loading, draining or saturated;
 * - `GET /info`: model, limits, batching configuration and the adaptive policies' current values;
 * - `GET /metrics`: Prometheus text of the engine's and the HTTP metrics.
 *
 * `/health`, `/ready` and `/metrics` need no API key (probes and scrapers); everything else does
 * when one is configured. Errors are `{"error", "error_type"}` except under `/v1/`, where they are
 * OpenAI's `{"error": {"message", "type", "param", "code"}}`.
 *
 * The handler knows nothing of ONNX: it talks to the `Embedder` service only.
 *
 * @since 0.1.0
 */
import { ByteSize, Cause, Context, Effect } from "effect"
import { type Headers, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiError, type Family, toResponse } from "./ApiError.js"
import * as ApiKey from "./ApiKey.js"
import * as ServerConfig from "./config/index.js"
import type * as DashboardFeed from "./dashboard/Feed.js"
import * as Dashboard from "./dashboard/Routes.js"
import * as Handlers from "./http/Handlers.js"
import type { Handler, HandlerContext, Route, Tracker } from "./http/Handlers.js"
import { InflightBytes } from "./http/InflightBytes.js"
import * as JsonBody from "./http/JsonBody.js"
import * as Probes from "./http/Probes.js"
import * as UnreadBody from "./http/UnreadBody.js"
import * as HttpMetrics from "./HttpMetrics.js"
import * as Embed from "./routes/Embed.js"
import * as EmbedAll from "./routes/EmbedAll.js"
import * as Info from "./routes/Info.js"
import * as Models from "./routes/Models.js"
import * as Similarity from "./routes/Similarity.js"
import * as Tokenize from "./routes/Tokenize.js"
import type { ServerState } from "./ServerState.js"
import { fromEmbedError } from "./wire/EmbedError.js"
import * as OpenAI from "./wire/OpenAI.js"
import * as Requests from "./wire/Requests.js"
import * as TeiRequests from "./wire/TeiRequests.js"

/**
 * Maps an `Embedder` failure to its API error (moved to `wire/EmbedError.ts`).
 *
 * @since 0.1.0
 * @category errors
 */
export { fromEmbedError } from "./wire/EmbedError.js"

type Response = HttpServerResponse.HttpServerResponse
type Request = HttpServerRequest.HttpServerRequest

/**
 * Everything the handler needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiOptions {
  readonly config: ServerConfig.ServerConfig
  readonly state: ServerState
  /** The dashboard's sampler; without one, `/dashboard/feed` is not served. */
  readonly feed?: DashboardFeed.Feed | undefined
  /** The budget of request-body bytes held at once (default: one from `config`, for this handler only). */
  readonly inflightBytes?: InflightBytes | undefined
}

/**
 * The request handler and the paths it serves (for mounting it on an `HttpRouter`, see
 * `http/Routes.ts`). The handler routes by the request's path itself, so it also answers paths it
 * does not serve (404) and methods a path does not take (405 with `Allow`).
 *
 * @since 0.1.0
 * @category models
 */
export interface App {
  readonly handler: Effect.Effect<Response, never, Request>
  /** The exact paths served (`/v1/models/{id}` and `/models/{id}` are served besides them). */
  readonly paths: ReadonlyArray<string>
}

/**
 * Builds the request handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ApiOptions): Effect.Effect<Response, never, Request> => app(options).handler

/**
 * Builds the request handler and lists the paths it serves.
 *
 * @since 0.1.0
 * @category constructors
 */
/**
 * Builds the request handler and lists the paths it serves.
 *
 * @since 0.1.0
 * @category constructors
 */
export const app = (options: ApiOptions): App => {
  const { config, state } = options
  const checkKey = config.apiKey === undefined ? undefined : ApiKey.make(config.apiKey)
  const budget = options.inflightBytes ?? new InflightBytes(ServerConfig.inflightBytes(config))
  const probes = Probes.make(config, state, budget)
  const ctx: HandlerContext = {
    config,
    state,
    readJson: JsonBody.make(config, budget),
    notReady: probes.notReady,
    overloaded: Handlers.overloaded(config)
  }
  const routes = routeTable(ctx, probes, options.feed)
  const unread = UnreadBody.make(config, state)
  const handler = serve(
    state,
    unread,
    (request, headers, start, tracker) => dispatch(routes, checkKey, probes.model, request, headers, start, tracker)
  )
  const maxBody = ByteSize.bytes(config.payloadLimit)
  const limited = handler.pipe(Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBody))
  // The server provides the body limit once around `serve` (see `bodyLimit`); then the handler
  // need not copy the request's context to provide it again.
  const served = Effect.withFiber((fiber) => {
    const current = fiber.getRef(HttpIncomingMessage.MaxBodySize)
    return current !== undefined && ByteSize.Equivalence(current, maxBody) ? handler : limited
  }).pipe(Effect.interruptible)
  return { handler: served, paths: [...routes.keys()] }
}

/** The embedding model's routes (TEI and OpenAI) of one server. */
const modelRoutes = (ctx: HandlerContext) => {
  const { config } = ctx
  const embedTei = Handlers.embedRoute(ctx, TeiRequests.decodeEmbed, "inputs", (body, service) => {
    const plan = Embed.plan(body, service.info, config)
    if (plan instanceof ApiError) return plan
    return {
      inputs: [],
      checked: plan.checked,
      truncate: plan.options.truncate === true,
      options: plan.options,
      render: plan.render
    }
  })

  const embedOpenAI = Handlers.embedRoute(ctx, Requests.decodeOpenAI, "input", (body, service) => {
    const servedName = Info.servedName(config, service.info)
    if (body.model !== undefined && body.model !== null) Effect.runSync(Models.warnModel(body.model, servedName))
    const plan = OpenAI.plan(body, service.info, servedName, config.autoTruncate)
    if (plan instanceof ApiError) return plan
    return { inputs: body.input, truncate: plan.options.truncate === true, options: plan.options, render: plan.render }
  })

  const tokenize = Handlers.jsonRoute(ctx, (json, service) => Tokenize.tokenize(json, service, config))

  const decode = Handlers.jsonRoute(ctx, (json, service) => Tokenize.decode(json, service, config))

  const embedAll = Handlers.limitedRoute(
    ctx,
    Handlers.jsonRoute(ctx, (json, service, tracker) =>
      Effect.map(
        EmbedAll.handle(json, service, config, (e, single) => fromEmbedError(e, "inputs", single)),
        ({ inputs, response }) => {
          tracker.inputs = inputs
          return response
        }
      ), true),
    "inputs"
  )

  const similarity = Handlers.limitedRoute(
    ctx,
    Handlers.jsonRoute(ctx, (json, service, tracker) =>
      Effect.map(
        Similarity.handle(json, service, config, (e) => fromEmbedError(e, "inputs.sentences", false)),
        ({ inputs, response }) => {
          tracker.inputs = inputs
          return response
        }
      ), true),
    "inputs.sentences"
  )

  return { embedTei, embedOpenAI, tokenize, decode, embedAll, similarity }
}

/** The routes of TEI's other model types: an embedding model answers them 424 `Backend`, as TEI. */
const otherModelType = (route: "/predict" | "/rerank" | "/embed_sparse"): Handler => () =>
  Effect.fail(Similarity.otherModelType(route))

/** Every path served, with its methods. */
const routeTable = (ctx: HandlerContext, probes: Probes.Probes, feed: DashboardFeed.Feed | undefined) => {
  const { embedTei, embedOpenAI, tokenize, decode, embedAll, similarity } = modelRoutes(ctx)
  const { health, ready, info, models, metrics } = probes
  return new Map<string, Route>([
    ["/embed", { name: "/embed", family: "tei", auth: true, methods: { POST: embedTei } }],
    // as TEI: POST / and /invocations embed (Inference Endpoints, SageMaker), GET / is a health check
    ["/", {
      name: "/",
      family: "tei",
      auth: true,
      public: ["GET", "HEAD"],
      methods: { POST: embedTei, GET: health, HEAD: health }
    }],
    ["/invocations", { name: "/invocations", family: "tei", auth: true, methods: { POST: embedTei } }],
    ["/embed_all", { name: "/embed_all", family: "tei", auth: true, methods: { POST: embedAll } }],
    ["/tokenize", { name: "/tokenize", family: "tei", auth: true, methods: { POST: tokenize } }],
    ["/decode", { name: "/decode", family: "tei", auth: true, methods: { POST: decode } }],
    ["/similarity", { name: "/similarity", family: "tei", auth: true, methods: { POST: similarity } }],
    ...(["/predict", "/rerank", "/embed_sparse"] as const).map((path): [string, Route] => [
      path,
      { name: path, family: "tei", auth: true, methods: { POST: otherModelType(path) } }
    ]),
    ["/v1/models", { name: "/v1/models", family: "openai", auth: true, methods: { GET: models } }],
    ["/models", { name: "/models", family: "openai", auth: true, methods: { GET: models } }],
    ["/ping", { name: "/ping", family: "tei", auth: false, methods: { GET: health, HEAD: health } }],
    ["/v1/embeddings", { name: "/v1/embeddings", family: "openai", auth: true, methods: { POST: embedOpenAI } }],
    ["/embeddings", { name: "/embeddings", family: "openai", auth: true, methods: { POST: embedOpenAI } }],
    ["/health", { name: "/health", family: "tei", auth: false, methods: { GET: health, HEAD: health } }],
    ["/ready", { name: "/ready", family: "tei", auth: false, methods: { GET: ready, HEAD: ready } }],
    ["/info", { name: "/info", family: "tei", auth: true, methods: { GET: info, HEAD: info } }],
    ["/metrics", { name: "/metrics", family: "tei", auth: false, methods: { GET: metrics, HEAD: metrics } }],
    ...documentation(ctx.config),
    ...dashboard(feed)
  ])
}

const allowed = (route: Route): ReadonlyArray<string> => Object.keys(route.methods)

/** `/v1/models/{id}` (and `/models/{id}`): one model object. */
const modelRoute = (path: string, model: Probes.Probes["model"]): Route | undefined => {
  const prefix = path.startsWith("/v1/models/") ? "/v1/models/" : path.startsWith("/models/") ? "/models/" : undefined
  if (prefix === undefined || path.length === prefix.length) return undefined
  let id: string
  try {
    id = decodeURIComponent(path.slice(prefix.length))
  } catch {
    return undefined
  }
  return { name: `${prefix}{id}`, family: "openai", auth: true, methods: { GET: model(id) } }
}

/**
 * The path prefix the handler is mounted under (`HttpRouter` strips it from `url`, not from
 * `originalUrl`); empty for the standalone server. For error messages only.
 */
const mountedAt = (request: Request, path: string): string => {
  let original = request.originalUrl
  const scheme = original.indexOf("://")
  if (scheme !== -1) {
    const slash = original.indexOf("/", scheme + 3)
    original = slash === -1 ? "/" : original.slice(slash)
  }
  const q = original.indexOf("?")
  const full = q === -1 ? original : original.slice(0, q)
  return full.length > path.length && full.endsWith(path) ? full.slice(0, full.length - path.length) : ""
}

/** The route of a request and its response (an error response for no route, a wrong method or key). */
const dispatch = (
  routes: ReadonlyMap<string, Route>,
  checkKey: ((authorization: string | undefined) => ApiKey.Refusal | undefined) | undefined,
  model: Probes.Probes["model"],
  request: Request,
  headers: Headers.Headers,
  start: number,
  tracker: Tracker
): { readonly route: string; readonly response: Effect.Effect<Response> } => {
  const url = request.url
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  const route = routes.get(path) ?? modelRoute(path, model)
  if (route === undefined) {
    const family: Family = path.startsWith("/v1/") ? "openai" : "tei"
    const prefix = mountedAt(request, path)
    const paths = [...routes.keys()].map((p) => prefix + p).join(", ")
    return {
      route: "unmatched",
      response: Effect.succeed(toResponse(
        new ApiError({
          kind: "not_found",
          message: `no route for ${request.method} ${prefix}${path}; routes: ${paths}`
        }),
        family
      ))
    }
  }
  const handler = route.methods[request.method]
  if (handler === undefined) {
    return {
      route: route.name,
      response: Effect.succeed(toResponse(
        new ApiError({
          kind: "method_not_allowed",
          message: `method ${request.method} is not allowed on ${mountedAt(request, path)}${path}; ` +
            `use ${allowed(route).join(" or ")}`,
          allow: allowed(route)
        }),
        route.family
      ))
    }
  }
  if (route.auth && checkKey !== undefined && route.public?.includes(request.method) !== true) {
    const refusal = checkKey(headers["authorization"])
    if (refusal !== undefined) {
      return {
        route: route.name,
        response: Effect.succeed(
          toResponse(new ApiError({ kind: "unauthorized", message: ApiKey.refusalMessage(refusal) }), route.family)
        )
      }
    }
  }
  return {
    route: route.name,
    response: handler(request, headers, start, tracker).pipe(
      Effect.catch((e) => Effect.succeed(toResponse(e, route.family))),
      Effect.catchDefect((defect) =>
        Effect.as(
          Effect.logError(`${request.method} ${path} failed`, Cause.die(defect)),
          toResponse(
            new ApiError({
              kind: "internal",
              message: `internal error: ${defect instanceof Error ? defect.message : String(defect)}`
            }),
            route.family
          )
        )
      )
    )
  }
}

/**
 * The handler around `dispatch`: counts the request in `state`, drains an unread body before an
 * answer that would close the connection, records the request's metrics and releases what it held.
 */
const serve = (
  state: ServerState,
  unread: UnreadBody.UnreadBody,
  dispatched: (
    request: Request,
    headers: Headers.Headers,
    start: number,
    tracker: Tracker
  ) => { readonly route: string; readonly response: Effect.Effect<Response> }
): Effect.Effect<Response, never, Request> => {
  const { closeWhileDraining, hasReadableBody, drain, keepsAlive } = unread
  return Effect.withFiber((fiber) => {
    const context = fiber.context
    const request = Context.getUnsafe(context, HttpServerRequest.HttpServerRequest)
    const start = performance.now()
    state.enter()
    const headers = request.headers
    const tracker: Tracker = { inputs: 0, bodyRead: false, embedding: false, reservation: undefined }
    const { response, route } = dispatched(request, headers, start, tracker)
    const answered = hasReadableBody(headers)
      ? Effect.flatMap(response, (r) =>
        tracker.bodyRead || keepsAlive(request, headers, r)
          ? Effect.succeed(closeWhileDraining(r))
          : Effect.as(drain(request), closeWhileDraining(r)))
      : Effect.map(response, closeWhileDraining)
    return Effect.onExit(answered, (exit) => {
      state.leave()
      if (tracker.embedding) state.embedding--
      tracker.reservation?.release()
      HttpMetrics.recordUnsafe(
        context,
        route,
        request.method,
        exit._tag === "Success" ? exit.value.status : 499,
        (performance.now() - start) / 1000,
        tracker.inputs
      )
      return Effect.void
    })
  })
}

const getOnly = (name: string, handler: Handler): [string, Route] => [
  name,
  { name, family: "tei", auth: false, methods: { GET: handler, HEAD: handler } }
]

/**
 * `/openapi.json`, `/api-doc/openapi.json` (TEI's path) and `/docs`, with no API key (as TEI). The
 * modules behind them (and `effect/http-api`) load on first use, not at start-up.
 */
const documentation = (config: ServerConfig.ServerConfig): ReadonlyArray<[string, Route]> => {
  const options = { auth: config.apiKey !== undefined }
  const docs = Effect.promise(() => import("./openapi/Docs.js"))
  const document: Handler = () => Effect.flatMap(docs, (Docs) => Docs.document(options))
  const page: Handler = (request) => Effect.flatMap(docs, (Docs) => Docs.page(options)(request))
  return [
    getOnly("/openapi.json", document),
    getOnly("/api-doc/openapi.json", document),
    getOnly("/docs", page)
  ]
}

/** `/dashboard` and its feed, with no API key (as `/metrics`). */
const dashboard = (feed: DashboardFeed.Feed | undefined): ReadonlyArray<[string, Route]> =>
  feed === undefined ? [] : [getOnly("/dashboard", Dashboard.page), getOnly("/dashboard/feed", Dashboard.feed(feed))]

/**
 * The request body limit of `config`, as `HttpIncomingMessage.MaxBodySize`. Providing it around
 * `HttpServer.serve` sets it for every request once, instead of per request in the handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bodyLimit = (config: ServerConfig.ServerConfig) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, HttpIncomingMessage.MaxBodySize, ByteSize.bytes(config.payloadLimit))
