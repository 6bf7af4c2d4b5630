/**
 * Starting and stopping the HTTP server.
 *
 * Start-up: the socket listens first (requests get 503 `model_loading` meanwhile, and `/ready` says
 * `loading`), then the model and the engine are built; a model that cannot load fails start-up
 * with its path and reason. One line is logged when ready, with the address and the model.
 *
 * Shutdown (closing the scope, e.g. on SIGTERM/SIGINT through `NodeRuntime.runMain`):
 * 1. the server is marked draining: it takes no new work (new requests get 503 with
 *    `Retry-After`), every response from now on carries `Connection: close`, and `/ready` answers
 *    503;
 * 2. the engine drains: queued and in-flight inputs are still computed for up to the drain timeout;
 *    what is left then fails with `ShuttingDown` (503);
 * 3. once every accepted request has its answer, answers keep their connection open until no
 *    connection has arrived for 1 s (clients stop reconnecting, so the accept backlog that closing
 *    the listener would reset empties), then the socket stops listening; open connections are
 *    still read, requests arriving on them are answered (503, `Connection: close`), and each is
 *    half-closed once it has been quiet for 1 s (no request in progress, none for 1 s), so a
 *    client writing its next request is answered rather than reset (`OpenConnections`); after
 *    5 s in all whatever is still open is closed.
 *
 * The socket keeps listening while the engine drains, so a client that connects meanwhile gets a
 * definite 503 rather than a connection error, and Node's `server.close()` is not used: it destroys
 * connections whose request is received but not yet parsed (and closing the listener while the
 * event loop is busy resets connections still in the accept backlog), so clients would see resets
 * for requests the server had accepted.
 *
 * @since 0.1.0
 */
import { Embedder, type EmbeddingModel, EngineLayers, ModelError } from "@adabatch/core"
import { NodeHttpServer } from "@effect/platform-node"
import { type Cause, Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer, type HttpServerError } from "effect/http"
import { NetAddress } from "effect/net"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Api from "./Api.js"
import type { ServerConfig } from "./config/index.js"
import * as Backpressure from "./http/Backpressure.js"
import * as Routes from "./http/Routes.js"
import * as LayoutView from "./LayoutView.js"
import * as OpenConnections from "./OpenConnections.js"
import * as Prompts from "./routes/Prompts.js"
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
  /**
   * Called once the socket listens, before the model is loaded (requests get 503 `model_loading`
   * until it is).
   */
  readonly onListening?: ((address: { readonly url: string; readonly port: number }) => void) | undefined
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

/** Time for answered requests to finish writing, and for open connections to end, after the drain. */
const closeGrace = Duration.seconds(5)

/**
 * How long an idle keep-alive connection must have been quiet before shutdown closes it: a client
 * that sends its next request within this time after an answer gets that request answered (503
 * while draining) rather than a reset.
 */
const quietBeforeClose = Duration.seconds(1)

/** How long no connection may have arrived before the listener closes at shutdown. */
const quietBeforeListenerClose = Duration.millis(1000)

const bounded = <A>(effect: Effect.Effect<A>) =>
  effect.pipe(Effect.timeoutOrElse({ duration: closeGrace, orElse: () => Effect.void }))

/**
 * Shutdown step 3, once the engine has drained. Node accepts about one connection per event-loop
 * turn while it is busy, so under load several connected clients can still wait in the accept
 * backlog: they are accepted (and answered 503) before the listener closes, since closing it would
 * reset them; meanwhile answers keep their connections open, so clients that were told to
 * reconnect stop doing so and the backlog empties (at most half the grace). Open connections are
 * then closed one by one once each is quiet (`OpenConnections.closeGracefully`): requests still
 * arriving on them are answered 503 with `Connection: close`. Both steps share one grace of 5 s.
 */
const closeConnections = (node: Http.Server, state: ServerState, connections: OpenConnections.OpenConnections) =>
  Effect.gen(function*() {
    state.phase = { _tag: "Draining" }
    yield* bounded(state.awaitIdle)
    // Answers keep their connection open for a moment, so clients stop reconnecting and the accept
    // backlog empties: the listener closes once no connection has arrived for a while.
    state.holdConnections = true
    const deadline = performance.now() + Duration.toMillis(closeGrace)
    yield* OpenConnections.awaitNoArrivals(connections, {
      quietMs: Duration.toMillis(quietBeforeListenerClose),
      graceMs: Duration.toMillis(closeGrace) / 2
    })
    if (node.listening) Net.Server.prototype.close.call(node)
    state.holdConnections = false
    yield* OpenConnections.closeGracefully(connections, {
      quietMs: Duration.toMillis(quietBeforeClose),
      graceMs: Math.max(0, deadline - performance.now())
    })
  })

/**
 * Node's bounds on receiving a request, tied to the request timeout (Node's defaults are 300 s for
 * the whole request and 60 s for the headers, checked every 30 s, so a client that stalls its body
 * or headers would hold a connection and a handler for minutes):
 * - the whole request (headers and body) must arrive within twice the request timeout plus 1 s,
 *   and at least 5 s (so overload congestion alone does not cut requests), and at least 10 s more
 *   than the body timeout (the handler answers a slow body with its own 408 first);
 * - the headers within 10 s (or that bound, if smaller);
 * - checked every second (at most 1 s late).
 * Past either bound Node answers 408 and closes the connection. A request counts as received once
 * its body is read, which the handler does first, so computing and writing the answer is not cut.
 *
 * @since 0.1.0
 * @category options
 */
export const receiveTimeouts = (config: ServerConfig): {
  readonly requestTimeout: number
  readonly headersTimeout: number
  readonly connectionsCheckingInterval: number
} => {
  // Generous enough that a server congested by overload does not 408 requests it is merely slow to
  // read (at least 5 s, twice the request timeout), yet a stalled client is cut within a bound.
  const requestTimeout = Math.max(5000, 2 * config.requestTimeoutMs + 1000, config.bodyTimeoutMs + 10_000)
  return {
    requestTimeout,
    headersTimeout: Math.min(10_000, requestTimeout),
    connectionsCheckingInterval: 1000
  }
}

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
    const node = Http.createServer(receiveTimeouts(config))
    Backpressure.install(node, { ...Backpressure.defaults, writeTimeoutMs: config.writeTimeoutMs })
    // Longer than the usual 60 s idle timeout of load balancers, so they close first.
    node.keepAliveTimeout = 65_000
    const connections = OpenConnections.track(node)
    const server = yield* NodeHttpServer.make(() => node, {
      port: config.port,
      host: config.host,
      disablePreemptiveShutdown: true
    })
    // the routes' handler, as `Routes.layer` mounts it, served straight (no HttpRouter on this path)
    const app = yield* Routes.app(config, state)
    yield* server.serve(app.handler).pipe(Api.bodyLimit(config))
    const address = server.address
    if (address._tag === "UnixPathAddress") {
      return yield* Effect.die(new Error(`expected a TCP address, got ${address.path}`))
    }
    const host = NetAddress.formatIp(address.address)
    const url = HttpServer.formatAddress(address)
    options.onListening?.({ url, port: address.port })

    // Shutdown step 3, after the engine has drained (finalizers run in reverse order).
    yield* Effect.addFinalizer(() => closeConnections(node, state, connections))

    const embedderLayer = options.embedder ?? EngineLayers.layer(config, options.model)
    const context = yield* Layer.build(embedderLayer)
    const embedder = Context.get(context, Embedder.Embedder)
    const promptError = Prompts.checkDefault(config, embedder.info.prompts)
    if (promptError !== undefined) {
      return yield* new ModelError.ModelLoadError({ path: embedder.info.path ?? embedder.info.id, reason: promptError })
    }
    state.phase = { _tag: "Ready", embedder }
    // Shutdown step 1.
    yield* Effect.addFinalizer(() => Effect.sync(() => void (state.phase = { _tag: "Draining" })))

    const model = embedder.info
    if (options.logReady !== false) {
      yield* Effect.logInfo(
        `adabatch ready on ${url}: model ${model.id} (${model.kind}, dimension ${model.dimension}, ` +
          `max length ${model.maxLength}, ${LayoutView.summary(model)}); ` +
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
