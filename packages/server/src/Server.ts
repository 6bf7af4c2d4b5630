/**
 * Starting and stopping the HTTP server.
 *
 * Start-up: the socket listens first (requests get 503 `model_loading` meanwhile, and `/ready` says
 * `loading`), then the model and the engine are built; a model that cannot load fails start-up
 * with its path and reason. One line is logged when ready, with the address and the model.
 *
 * Shutdown (closing the scope, e.g. on SIGTERM/SIGINT through `NodeRuntime.runMain`):
 * 1. the server is marked draining: new requests get 503 with `Retry-After` and
 *    `Connection: close`, and `/ready` answers 503;
 * 2. the engine drains: queued and in-flight inputs are still computed for up to the drain timeout;
 *    what is left then fails with `ShuttingDown` (503);
 * 3. the server waits until every request it accepted has its answer written (up to 5 s more);
 * 4. the socket is closed.
 *
 * @since 0.1.0
 */
import type { ModelError } from "@adabatch/core"
import { Embedder, type EmbeddingModel } from "@adabatch/core"
import { NodeHttpServer } from "@effect/platform-node"
import { type Cause, Context, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer, type HttpServerError } from "effect/http"
import { NetAddress } from "effect/net"
import { createServer } from "node:http"
import * as Api from "./Api.js"
import * as Engine from "./Engine.js"
import type { ServerConfig } from "./ServerConfig.js"
import { ServerState } from "./ServerState.js"

/**
 * Options beyond the configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Serve this model instead of the one `config.model` names (tests wrap a model to count or fail
   * batches; the batching engine is still the configured one).
   */
  readonly model?: Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError> | undefined
  /** Serve this `Embedder` instead of building one from the configuration. */
  readonly embedder?: Layer.Layer<Embedder.Embedder, ModelError.ModelLoadError> | undefined
  /** Log the ready line (default `true`). */
  readonly logReady?: boolean | undefined
}

/**
 * A started server.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string
  readonly host: string
  /** The bound port (useful with port 0). */
  readonly port: number
  readonly model: EmbeddingModel.ModelInfo
}

/**
 * Why the server could not start.
 *
 * @since 0.1.0
 * @category errors
 */
export type StartError = ModelError.ModelLoadError | HttpServerError.ServeError

/** Time for already-answered requests to finish writing once the engine has drained. */
const writeGraceMs = 5_000

/**
 * Starts the server in the current scope; closing the scope drains and stops it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: ServerConfig,
  options: Options = {}
): Effect.Effect<RunningServer, StartError, Scope.Scope> =>
  Effect.gen(function*() {
    const state = new ServerState()
    const server = yield* NodeHttpServer.make(() => {
      const s = createServer()
      // Longer than the usual 60 s idle timeout of load balancers, so they close first.
      s.keepAliveTimeout = 65_000
      return s
    }, {
      port: config.port,
      host: config.host,
      gracefulShutdownTimeout: `${writeGraceMs} millis`
    })
    yield* server.serve(Api.make({ config, state }))
    const address = server.address
    if (address._tag === "UnixPathAddress") {
      return yield* Effect.die(new Error(`expected a TCP address, got ${address.path}`))
    }
    const host = NetAddress.formatIp(address.address)
    const url = HttpServer.formatAddress(address)

    // Runs after the engine has drained, before the socket closes (finalizers run in reverse).
    yield* Effect.addFinalizer(() =>
      state.awaitIdle.pipe(Effect.timeoutOrElse({ duration: `${writeGraceMs} millis`, orElse: () => Effect.void }))
    )

    const embedderLayer = options.embedder ?? Engine.layer(config, options.model)
    const context = yield* Layer.build(embedderLayer)
    const embedder = Context.get(context, Embedder.Embedder)
    state.phase = { _tag: "Ready", embedder }
    // Runs first on shutdown.
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.phase = { _tag: "Draining" })))

    const model = embedder.info
    if (options.logReady !== false) {
      yield* Effect.logInfo(
        `adabatch ready on ${url}: model ${model.id} (${model.kind}, dimension ${model.dimension}, ` +
          `max length ${model.maxLength}, workers ${model.workers}, threads ${model.intraOpNumThreads}); ` +
          `batching ${config.batchPolicy} <= ${config.maxBatchSize} inputs / ${config.maxBatchTokens} tokens, ` +
          `wait ${config.waitPolicy} <= ${config.maxWaitMs} ms, queue ${config.queueCapacity} (${config.overflow})`
      )
    }
    return { url, host, port: address.port, model }
  })

/**
 * The server as a Layer (for `Layer.launch`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: ServerConfig, options?: Options): Layer.Layer<never, StartError> =>
  Layer.effectDiscard(make(config, options))

/**
 * A server started outside Effect, with a `close` that drains and stops it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerHandle extends RunningServer {
  readonly close: () => Promise<void>
}

/**
 * Starts the server from plain code (tests, the benchmark). Rejects with a `StartError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (config: ServerConfig, options?: Options): Promise<ServerHandle> => {
  const scope = Scope.makeUnsafe()
  const exit = await Effect.runPromiseExit(Scope.provide(make(config, options), scope))
  if (Exit.isFailure(exit)) {
    await Effect.runPromise(Scope.close(scope, exit))
    throw squash(exit.cause)
  }
  let closing: Promise<void> | undefined
  return {
    ...exit.value,
    close: () => (closing ??= Effect.runPromise(Scope.close(scope, Exit.void)))
  }
}

const squash = <E>(cause: Cause.Cause<E>): unknown => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") return reason.error
  }
  for (const reason of cause.reasons) {
    if (reason._tag === "Die") return reason.defect
  }
  return new Error("server start-up was interrupted")
}
