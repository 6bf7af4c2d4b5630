/**
 * The routes that read the server's state rather than a request body: `GET /health` (also `GET /`
 * and `/ping`), `/ready`, `/info`, `/metrics`, `/v1/models` and `/v1/models/{id}`, and the refusal
 * of work while the model loads or the server drains.
 *
 * @since 0.1.0
 */
import type { Embedder } from "@adabatch/core"
import { Effect, Metric } from "effect"
import { HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { ApiError, toResponse } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import * as HttpMetrics from "../HttpMetrics.js"
import * as Info from "../routes/Info.js"
import * as Models from "../routes/Models.js"
import type { ServerState } from "../ServerState.js"
import type { InflightBytes } from "./InflightBytes.js"

type Response = HttpServerResponse.HttpServerResponse
type EmbedderService = Embedder.Embedder["Service"]

const statusJson = (status: number, body: unknown): Response =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })

/**
 * The probe handlers of one server, and its readiness checks for the other routes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Probes {
  /** The refusal of work in a phase other than `Ready` (503 `model_loading` or `shutting_down`). */
  readonly notReady: (phase: Exclude<ServerState["phase"], { readonly _tag: "Ready" }>) => ApiError
  /** The ready `Embedder`, or the refusal. */
  readonly embedder: () => Effect.Effect<EmbedderService, ApiError>
  readonly health: () => Effect.Effect<Response, ApiError>
  readonly ready: () => Effect.Effect<Response, ApiError>
  readonly info: () => Effect.Effect<Response, ApiError>
  readonly models: () => Effect.Effect<Response, ApiError>
  readonly model: (id: string) => () => Effect.Effect<Response, ApiError>
  readonly metrics: () => Effect.Effect<Response, ApiError>
}

/**
 * The probes of the server whose state is `state`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: ServerConfig, state: ServerState, budget: InflightBytes): Probes => {
  const notReady = (phase: Exclude<ServerState["phase"], { readonly _tag: "Ready" }>): ApiError =>
    phase._tag === "Loading"
      ? new ApiError({ kind: "model_loading", message: "the model is still loading", retryAfterMs: 1000 })
      : new ApiError({
        kind: "shutting_down",
        message: "server is shutting down: no new requests are accepted",
        retryAfterMs: 1000
      })

  const embedder = (): Effect.Effect<EmbedderService, ApiError> => {
    const phase = state.phase
    return phase._tag === "Ready" ? Effect.succeed(phase.embedder) : Effect.fail(notReady(phase))
  }

  const health = (): Effect.Effect<Response, ApiError> =>
    Effect.gen(function*() {
      const phase = state.phase
      if (phase._tag === "Loading") return statusJson(503, { status: "loading" })
      if (phase._tag === "Draining") return statusJson(503, { status: "draining" })
      return yield* phase.embedder.ping.pipe(
        Effect.timeout("10 seconds"),
        Effect.match({
          onSuccess: () => statusJson(200, { status: "ok" }),
          onFailure: (e) =>
            toResponse(
              new ApiError({
                kind: "unhealthy",
                message: e._tag === "TimeoutError"
                  ? "the model did not answer a ping within 10 s"
                  : `the model does not answer: ${e.message}`
              }),
              "tei"
            )
        })
      )
    })

  const ready = (): Effect.Effect<Response, ApiError> =>
    Effect.gen(function*() {
      const phase = state.phase
      if (phase._tag === "Loading") return statusJson(503, { status: "loading" })
      if (phase._tag === "Draining") return statusJson(503, { status: "draining" })
      const snapshot = yield* phase.embedder.snapshot
      if (!snapshot.accepting) return statusJson(503, { status: "draining" })
      if (snapshot.saturated) {
        return statusJson(503, { status: "saturated", queued: snapshot.queued, capacity: snapshot.capacity })
      }
      return statusJson(200, { status: "ready", queued: snapshot.queued, capacity: snapshot.capacity })
    })

  const info = (): Effect.Effect<Response, ApiError> =>
    Effect.gen(function*() {
      const service = yield* embedder()
      const snapshot = yield* service.snapshot
      return statusJson(200, Info.body(config, service.info, snapshot, budget.budget))
    })

  const models = (): Effect.Effect<Response, ApiError> =>
    Effect.map(embedder(), (service) => Models.list(Info.servedName(config, service.info)))

  const model = (id: string) => (): Effect.Effect<Response, ApiError> =>
    Effect.flatMap(embedder(), (service) => Models.retrieve(Info.servedName(config, service.info), id))

  const metrics = (): Effect.Effect<Response, ApiError> =>
    Effect.gen(function*() {
      yield* Metric.update(HttpMetrics.inFlight, state.inFlight)
      const text = yield* PrometheusMetrics.format()
      return HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
    })

  return { notReady, embedder, health, ready, info, models, model, metrics }
}
