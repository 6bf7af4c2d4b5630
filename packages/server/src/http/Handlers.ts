/**
 * The request handlers' shared parts: the per-request types, the concurrent-request limit, and the
 * lean path of the embedding routes (read and parse the body, decode, check, embed, encode).
 *
 * @since 0.1.0
 */
import type { Embedder, EmbeddingModel } from "@adabatch/core"
import { Effect, Result } from "effect"
import { type Headers, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiError, type Family } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import type { ServerState } from "../ServerState.js"
import { fromEmbedError } from "../wire/EmbedError.js"
import * as Encoding from "../wire/Encoding.js"
import * as Requests from "../wire/Requests.js"
import type * as TeiRequests from "../wire/TeiRequests.js"
import type * as JsonBody from "./JsonBody.js"
import type { Probes } from "./Probes.js"

type Response = HttpServerResponse.HttpServerResponse
type Request = HttpServerRequest.HttpServerRequest
type EmbedderService = Embedder.Embedder["Service"]

/**
 * Per-request facts the handler reports for the metrics, and what it releases when the request ends.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tracker extends JsonBody.Tracker {
  inputs: number
  /** Counted in `state.embedding` (released when the request ends). */
  embedding: boolean
}

/**
 * One method of one route.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler = (
  request: Request,
  headers: Headers.Headers,
  start: number,
  tracker: Tracker
) => Effect.Effect<Response, ApiError>

/**
 * One path: its methods, error family and whether it needs the API key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route {
  /** The metrics label. */
  readonly name: string
  readonly family: Family
  readonly auth: boolean
  /** Methods open without the API key even though `auth` is set (TEI's `GET /`). */
  readonly public?: ReadonlyArray<string>
  readonly methods: Readonly<Record<string, Handler>>
}

/**
 * What the handlers of one server share.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerContext {
  readonly config: ServerConfig
  readonly state: ServerState
  readonly readJson: ReturnType<typeof JsonBody.make>
  readonly notReady: Probes["notReady"]
  /** The 429 of the concurrent-request limit. */
  readonly overloaded: ApiError
}

/**
 * The 429 of `maxConcurrentRequests`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const overloaded = (config: ServerConfig): ApiError =>
  new ApiError({
    kind: "too_many_requests",
    message: `Model is overloaded: ${config.maxConcurrentRequests} requests are already being handled ` +
      `(ADABATCH_MAX_CONCURRENT_REQUESTS); retry later`,
    retryAfterMs: 1000
  })

const jsonType = "application/json"

const ms = (x: number): string => String(Math.round(x))

/**
 * The JSON response with TEI's timing headers. The headers are added to the map the response
 * was just made with: with a content type and no `headers` option, `uint8Array` gives each
 * response a fresh header map of its own (`content-type`, `content-length`), which nothing else
 * references yet. Passing the timing headers as the `headers` option instead copies them twice
 * (`Headers.fromInput`, then a spread and `Object.setPrototypeOf` in the constructor), which
 * measured ~4.5 us per response against ~0.2 us this way.
 *
 * @since 0.1.0
 * @category rendering
 */
export const embedResponse = (
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

/**
 * What an embedding route makes of its decoded body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly inputs: string | ReadonlyArray<string>
  readonly truncate: boolean
  readonly render: (vectors: ReadonlyArray<Float32Array>, result: Embedder.EmbedResult) => Uint8Array
  /** Inputs the route has already checked (texts or token ids); then `inputs` is not read. */
  readonly checked?: TeiRequests.Checked<EmbeddingModel.Input> | undefined
  /** Options for `embed` beyond `truncate` (truncation direction, prompt). */
  readonly options?: Embedder.EmbedOptions | undefined
}

/**
 * An embedding route: at most `maxConcurrentRequests` at once. The limit is checked before the
 * body is read or parsed, so an overload costs no parsing and holds no bodies (the body is still
 * drained before the 429 is sent, see `hasReadableBody`); a request is counted in it only once its
 * body has arrived (checked again then), so clients that send their bodies slowly (or never) hold
 * no slot: the body timeout and the budget of bytes in flight bound them instead.
 *
 * @since 0.1.0
 * @category routes
 */
export const embedRoute = <B>(
  ctx: HandlerContext,
  decode: (json: unknown) => Result.Result<B, ApiError>,
  field: string,
  prepare: (body: B, service: EmbedderService) => ApiError | Plan
): Handler => limitedRoute(ctx, embedBody(ctx, decode, field, prepare), field)

/**
 * A route under the concurrent-request limit and the queue's refusal (see `embedRoute`), both
 * checked before the body is read; `handle` counts the request once its body has arrived.
 *
 * @since 0.1.0
 * @category routes
 */
export const limitedRoute = (ctx: HandlerContext, handle: Handler, field = "inputs"): Handler => {
  const { config, state } = ctx
  return (request, headers, start, tracker) => {
    if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(ctx.overloaded)
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
  ctx: HandlerContext,
  decode: (json: unknown) => Result.Result<B, ApiError>,
  field: string,
  prepare: (body: B, service: EmbedderService) => ApiError | Plan
): Handler =>
(request, headers, start, tracker) =>
  Effect.flatMap(ctx.readJson(request, headers, tracker), (json) => {
    const { config, state } = ctx
    tracker.bodyRead = true
    const phase = state.phase
    if (phase._tag !== "Ready") return Effect.fail(ctx.notReady(phase))
    if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(ctx.overloaded)
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

/**
 * A route whose JSON body is read and handed, with the ready `Embedder`, to `handle` (the TEI
 * routes in `routes/`).
 *
 * @since 0.1.0
 * @category routes
 */
export const jsonRoute = (
  ctx: HandlerContext,
  handle: (json: unknown, service: EmbedderService, tracker: Tracker) => Effect.Effect<Response, ApiError>,
  /** Count the request in `maxConcurrentRequests` once its body has arrived (see `limitedRoute`). */
  counted = false
): Handler =>
(request, headers, _start, tracker) =>
  Effect.flatMap(ctx.readJson(request, headers, tracker), (json) => {
    const { config, state } = ctx
    tracker.bodyRead = true
    const phase = state.phase
    if (phase._tag !== "Ready") return Effect.fail(ctx.notReady(phase))
    if (counted) {
      if (state.embedding >= config.maxConcurrentRequests) return Effect.fail(ctx.overloaded)
      state.embedding++
      tracker.embedding = true // released by the handler's exit hook
    }
    return handle(json, phase.embedder, tracker)
  })
