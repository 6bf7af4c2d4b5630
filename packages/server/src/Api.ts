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
import type { Embedder, EmbeddingModel } from "@adabatch/core"
import { ByteSize, Cause, Context, Effect, Result } from "effect"
import { type Headers, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiError, type Family, toResponse } from "./ApiError.js"
import * as ApiKey from "./ApiKey.js"
import type * as DashboardFeed from "./dashboard/Feed.js"
import * as Dashboard from "./dashboard/Routes.js"
import * as Encoding from "./Encoding.js"
import { InflightBytes } from "./http/InflightBytes.js"
import * as JsonBody from "./http/JsonBody.js"
import * as Probes from "./http/Probes.js"
import * as UnreadBody from "./http/UnreadBody.js"
import * as HttpMetrics from "./HttpMetrics.js"
import * as Requests from "./Requests.js"
import * as Embed from "./routes/Embed.js"
import * as EmbedAll from "./routes/EmbedAll.js"
import * as Info from "./routes/Info.js"
import * as Models from "./routes/Models.js"
import * as Similarity from "./routes/Similarity.js"
import * as Tokenize from "./routes/Tokenize.js"
import * as ServerConfig from "./ServerConfig.js"
import type { ServerState } from "./ServerState.js"
import * as TeiRequests from "./TeiRequests.js"
import { fromEmbedError } from "./wire/EmbedError.js"
import * as OpenAI from "./wire/OpenAI.js"

/**
 * Maps an `Embedder` failure to its API error (moved to `wire/EmbedError.ts`).
 *
 * @since 0.1.0
 * @category errors
 */
export { fromEmbedError } from "./wire/EmbedError.js"

type Response = HttpServerResponse.HttpServerResponse
type Request = HttpServerRequest.HttpServerRequest
type EmbedderService = Embedder.Embedder["Service"]

interface Route {
  /** The metrics label. */
  readonly name: string
  readonly family: Family
  readonly auth: boolean
  /** Methods open without the API key even though `auth` is set (TEI's `GET /`). */
  readonly public?: ReadonlyArray<string>
  readonly methods: Readonly<Record<string, Handler>>
}

/** Per-request facts the handler reports for the metrics, and what it releases when the request ends. */
interface Tracker extends JsonBody.Tracker {
  inputs: number
  /** Counted in `state.embedding` (released when the request ends). */
  embedding: boolean
}

type Handler = (
  request: Request,
  headers: Headers.Headers,
  start: number,
  tracker: Tracker
) => Effect.Effect<Response, ApiError>

const jsonType = "application/json"

const ms = (x: number): string => String(Math.round(x))

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
export const app = (options: ApiOptions): App => {
  const { config, state } = options
  const checkKey = config.apiKey === undefined ? undefined : ApiKey.make(config.apiKey)
  const maxBody = ByteSize.bytes(config.payloadLimit)
  const budget = options.inflightBytes ?? new InflightBytes(ServerConfig.inflightBytes(config))
  const readJson = JsonBody.make(config, budget)
  const { notReady, health, ready, info, models, model, metrics } = Probes.make(config, state, budget)

  /**
   * The JSON response with TEI's timing headers. The headers are added to the map the response
   * was just made with: with a content type and no `headers` option, `uint8Array` gives each
   * response a fresh header map of its own (`content-type`, `content-length`), which nothing else
   * references yet. Passing the timing headers as the `headers` option instead copies them twice
   * (`Headers.fromInput`, then a spread and `Object.setPrototypeOf` in the constructor), which
   * measured ~4.5 us per response against ~0.2 us this way.
   */
  const embedResponse = (
    bytes: Uint8Array,
    result: Embedder.EmbedResult,
    start: number,
    characters: number
  ): Response => {
    const response = HttpServerResponse.uint8Array(bytes, { contentType: jsonType })
    const headers = response.headers as Record<string, string>
    headers["x-total-time"] = ms(performance.now() - start)
    headers["x-tokenization-time"] = ms(result.timings.tokenizationMs)
    headers["x-queue-time"] = ms(result.timings.queueMs)
    headers["x-inference-time"] = ms(result.timings.inferenceMs)
    headers["x-compute-time"] = ms(result.timings.totalMs)
    headers["x-compute-tokens"] = String(result.tokens)
    headers["x-compute-characters"] = String(characters)
    return response
  }

  /** Characters of the texts; a token-id input counts its ids (as TEI does). */
  const countCharacters = (inputs: ReadonlyArray<EmbeddingModel.Input>): number => {
    let n = 0
    for (let i = 0; i < inputs.length; i++) n += inputs[i]!.length
    return n
  }

  const nonFinite = (e: unknown): ApiError =>
    new ApiError({
      kind: "inference_failed",
      message: e instanceof Encoding.NonFiniteValue ? e.message : `cannot encode the response: ${String(e)}`
    })

  interface Plan {
    readonly inputs: string | ReadonlyArray<string>
    readonly truncate: boolean
    readonly render: (vectors: ReadonlyArray<Float32Array>, result: Embedder.EmbedResult) => Uint8Array
    /** Inputs the route has already checked (texts or token ids); then `inputs` is not read. */
    readonly checked?: TeiRequests.Checked<EmbeddingModel.Input> | undefined
    /** Options for `embed` beyond `truncate` (truncation direction, prompt). */
    readonly options?: Embedder.EmbedOptions | undefined
  }

  const overloaded = new ApiError({
    kind: "too_many_requests",
    message: `Model is overloaded: ${config.maxConcurrentRequests} requests are already being handled ` +
      `(ADABATCH_MAX_CONCURRENT_REQUESTS); retry later`,
    retryAfterMs: 1000
  })

  /**
   * An embedding route: at most `maxConcurrentRequests` at once. The limit is checked before the
   * body is read or parsed, so an overload costs no parsing and holds no bodies (the body is still
   * drained before the 429 is sent, see `hasReadableBody`); a request is counted in it only once its
   * body has arrived (checked again then), so clients that send their bodies slowly (or never) hold
   * no slot: the body timeout and the budget of bytes in flight bound them instead.
   */
  const embedRoute = <B>(
    decode: (json: unknown) => Result.Result<B, ApiError>,
    field: string,
    prepare: (body: B, service: EmbedderService) => ApiError | Plan
  ): Handler => limitedRoute(embedBody(decode, field, prepare), field)

  /**
   * A route under the concurrent-request limit and the queue's refusal (see `embedRoute`), both
   * checked before the body is read; `handle` counts the request once its body has arrived.
   */
  const limitedRoute = (handle: Handler, field = "inputs"): Handler => {
    return (request, headers, start, tracker) => {
      if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(overloaded)
      // A queue that cannot take even one more input refuses before the body is read or parsed.
      const phase = state.phase
      const refused = phase._tag === "Ready" ? phase.embedder.precheck(1) : undefined
      if (refused !== undefined) return Effect.fail(fromEmbedError(refused, field, false))
      return handle(request, headers, start, tracker)
    }
  }

  /**
   * The embedding routes share one lean path (no generator, one Effect step per asynchronous
   * stage): read and parse the body, decode it with its Schema, check the inputs, embed, encode.
   */
  const embedBody = <B>(
    decode: (json: unknown) => Result.Result<B, ApiError>,
    field: string,
    prepare: (body: B, service: EmbedderService) => ApiError | Plan
  ): Handler =>
  (request, headers, start, tracker) =>
    Effect.flatMap(readJson(request, headers, tracker), (json) => {
      tracker.bodyRead = true
      const phase = state.phase
      if (phase._tag !== "Ready") return Effect.fail(notReady(phase))
      if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(overloaded)
      state.embedding++
      tracker.embedding = true // released by the handler's exit hook
      const service = phase.embedder
      const decoded = decode(json)
      if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
      const plan = prepare(decoded.success, service)
      if (plan instanceof ApiError) return Effect.fail(plan)
      const inputs = plan.checked !== undefined
        ? Result.succeed(plan.checked.inputs)
        : Requests.checkInputs(field, plan.inputs, config.maxClientBatch)
      if (Result.isFailure(inputs)) return Effect.fail(inputs.failure)
      const texts = inputs.success
      const single = plan.checked !== undefined ? plan.checked.single : typeof plan.inputs === "string"
      tracker.inputs = texts.length
      return Effect.matchEffect(service.embed(texts, plan.options ?? { truncate: plan.truncate }), {
        onFailure: (e) => Effect.fail(fromEmbedError(e, field, single)),
        onSuccess: (result) => {
          let bytes: Uint8Array
          try {
            bytes = plan.render(result.embeddings, result)
          } catch (e) {
            return Effect.fail(nonFinite(e))
          }
          return Effect.succeed(embedResponse(bytes, result, start, countCharacters(texts)))
        }
      })
    })

  const embedTei = embedRoute(TeiRequests.decodeEmbed, "inputs", (body, service) => {
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

  const embedOpenAI = embedRoute(Requests.decodeOpenAI, "input", (body, service) => {
    const servedName = Info.servedName(config, service.info)
    if (body.model !== undefined && body.model !== null) Effect.runSync(Models.warnModel(body.model, servedName))
    const render = OpenAI.renderer(body, service.info, servedName)
    if (render instanceof ApiError) return render
    return { inputs: body.input, truncate: body.truncate ?? config.autoTruncate, render }
  })

  /**
   * A route whose JSON body is read and handed, with the ready `Embedder`, to `handle` (the TEI
   * routes in `routes/`).
   */
  const jsonRoute = (
    handle: (json: unknown, service: EmbedderService, tracker: Tracker) => Effect.Effect<Response, ApiError>,
    /** Count the request in `maxConcurrentRequests` once its body has arrived (see `limitedRoute`). */
    counted = false
  ): Handler =>
  (request, headers, _start, tracker) =>
    Effect.flatMap(readJson(request, headers, tracker), (json) => {
      tracker.bodyRead = true
      const phase = state.phase
      if (phase._tag !== "Ready") return Effect.fail(notReady(phase))
      if (counted) {
        if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(overloaded)
        state.embedding++
        tracker.embedding = true // released by the handler's exit hook
      }
      return handle(json, phase.embedder, tracker)
    })

  const tokenize = jsonRoute((json, service) => Tokenize.tokenize(json, service, config))

  const decode = jsonRoute((json, service) => Tokenize.decode(json, service, config))

  const embedAll = limitedRoute(
    jsonRoute((json, service, tracker) =>
      Effect.map(
        EmbedAll.handle(json, service, config, (e, single) => fromEmbedError(e, "inputs", single)),
        ({ inputs, response }) => {
          tracker.inputs = inputs
          return response
        }
      ), true),
    "inputs"
  )

  const similarity = limitedRoute(
    jsonRoute((json, service, tracker) =>
      Effect.map(
        Similarity.handle(json, service, config, (e) => fromEmbedError(e, "inputs.sentences", false)),
        ({ inputs, response }) => {
          tracker.inputs = inputs
          return response
        }
      ), true),
    "inputs.sentences"
  )

  /** The routes of TEI's other model types: an embedding model answers them 424 `Backend`, as TEI. */
  const otherModelType = (route: "/predict" | "/rerank" | "/embed_sparse"): Handler => () =>
    Effect.fail(Similarity.otherModelType(route))

  const routes = new Map<string, Route>([
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
    ...documentation(config),
    ...dashboard(options.feed)
  ])

  const allowed = (route: Route): ReadonlyArray<string> => Object.keys(route.methods)

  /** `/v1/models/{id}` (and `/models/{id}`): one model object. */
  const modelRoute = (path: string): Route | undefined => {
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

  const dispatch = (
    request: Request,
    headers: Headers.Headers,
    start: number,
    tracker: Tracker
  ): { readonly route: string; readonly response: Effect.Effect<Response> } => {
    const url = request.url
    const q = url.indexOf("?")
    const path = q === -1 ? url : url.slice(0, q)
    const route = routes.get(path) ?? modelRoute(path)
    if (route === undefined) {
      const family: Family = path.startsWith("/v1/") ? "openai" : "tei"
      return {
        route: "unmatched",
        response: Effect.succeed(toResponse(
          new ApiError({
            kind: "not_found",
            message: `no route for ${request.method} ${path}; routes: ${[...routes.keys()].join(", ")}`
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
            message: `method ${request.method} is not allowed on ${path}; use ${allowed(route).join(" or ")}`,
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

  const { closeWhileDraining, hasReadableBody, drain, keepsAlive } = UnreadBody.make(config, state)

  const handler = Effect.withFiber((fiber) => {
    const context = fiber.context
    const request = Context.getUnsafe(context, HttpServerRequest.HttpServerRequest)
    const start = performance.now()
    state.enter()
    const headers = request.headers
    const tracker: Tracker = { inputs: 0, bodyRead: false, embedding: false, reservation: undefined }
    const { response, route } = dispatch(request, headers, start, tracker)
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
  const limited = handler.pipe(Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBody))
  // The server provides the body limit once around `serve` (see `bodyLimit`); then the handler
  // need not copy the request's context to provide it again.
  const served = Effect.withFiber((fiber) => {
    const current = fiber.getRef(HttpIncomingMessage.MaxBodySize)
    return current !== undefined && ByteSize.Equivalence(current, maxBody) ? handler : limited
  }).pipe(Effect.interruptible)
  return { handler: served, paths: [...routes.keys()] }
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
