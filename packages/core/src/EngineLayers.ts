/**
 * The engine's Layers from flat settings: the model (`ModelSource`), the batching policies and the
 * `Embedder`. The server builds its engine with these from its configuration, and the benchmark
 * builds the same engine in process, so both run exactly what `adabatch-server` runs.
 *
 * @since 0.1.0
 */
import { Duration, Layer } from "effect"
import * as BatchSizePolicy from "./batching/BatchSizePolicy.js"
import * as QueuePolicy from "./batching/QueuePolicy.js"
import * as WaitPolicy from "./batching/WaitPolicy.js"
import * as Embedder from "./Embedder.js"
import type * as EmbeddingModel from "./model/EmbeddingModel.js"
import type * as ModelError from "./model/ModelError.js"
import * as ModelSource from "./model/ModelSource.js"
import * as TokenizerPool from "./model/tokenizer/TokenizerPool.js"

/**
 * The settings the engine is built from (the server's configuration has these fields and more;
 * each is documented on `ServerConfig` in `@adabatch/server`).
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineSettings {
  /** `default`, `tiny`, `echo`, or a model directory path. */
  readonly model: string
  /** Vector dimension of the `echo` model; `undefined`: the model's default. */
  readonly echoDimension: number | undefined
  /** Inference worker threads; `undefined`: `auto`. */
  readonly workers: number | undefined
  /** Intra-op threads per ONNX session; `undefined`: `auto`. */
  readonly threads: number | undefined
  /** Calibrate the worker layout again even when a cached calibration exists. */
  readonly recalibrate: boolean
  /** Tokenization worker threads; `undefined`: `TokenizerPool.defaultWorkers()`. */
  readonly tokenizerWorkers: number | undefined
  /** `adaptive` or `fixed` batch sizes. */
  readonly batchPolicy: "adaptive" | "fixed"
  /** Hard cap on items per batch. */
  readonly maxBatchSize: number
  /** Hard cap on the tokens of one batch. */
  readonly maxBatchTokens: number
  /** Latency target of the adaptive batch-size policy, in ms; `undefined`: the policy's default. */
  readonly targetLatencyMs: number | undefined
  /** `adaptive`, `fixed` or `none`. */
  readonly waitPolicy: "adaptive" | "fixed" | "none"
  /** Longest time a batch waits for more items, in ms. */
  readonly maxWaitMs: number
  /** Queue capacity in items. */
  readonly queueCapacity: number
  /** What a full queue does. */
  readonly overflow: "reject" | "backpressure"
  /** With `backpressure`: refuse at once a request the queued work would keep past half its timeout. */
  readonly shedLate: boolean
  /** Bounds of a dynamic queue capacity; `undefined`: fixed capacity. */
  readonly queueDynamic: { readonly floor: number; readonly ceiling: number } | undefined
  /** Time budget of one request, in ms. */
  readonly requestTimeoutMs: number
  /** Longest run of one batch on a worker, in ms; `undefined`: the request timeout + 1 s. */
  readonly runTimeoutMs: number | undefined
  /** How long queued and in-flight requests may still take on shutdown, in ms. */
  readonly drainTimeoutMs: number
  /** Retry the items of a failed batch one by one. */
  readonly isolateFailures: boolean
  /** Inputs of a large request queued at once; `undefined`: `maxBatchSize` x the workers. */
  readonly feedWindow: number | undefined
}

/**
 * The run timeout of one batch the settings give, in ms: `runTimeoutMs`, else the request timeout
 * + 1 s: a batch still running then can no longer answer any of its requests in time (they have
 * had their 504 from the engine's deadline first), so its worker is replaced.
 *
 * @since 0.1.0
 * @category options
 */
export const runTimeoutMs = (settings: EngineSettings): number =>
  settings.runTimeoutMs ?? settings.requestTimeoutMs + 1000

/**
 * The tokenization worker threads the settings give (`auto`: `TokenizerPool.defaultWorkers`).
 *
 * @since 0.1.0
 * @category options
 */
export const tokenizerWorkers = (settings: EngineSettings): number =>
  settings.tokenizerWorkers ?? TokenizerPool.defaultWorkers()

/**
 * The `ModelSource` options the settings give: the model, its workers and threads (`auto` unless
 * set: with both `auto`, a calibrated layout), and the run timeout, so a hung batch fails and its
 * worker is replaced instead of holding it forever.
 *
 * @since 0.1.0
 * @category options
 */
export const modelOptions = (settings: EngineSettings): ModelSource.ModelSourceOptions => ({
  model: settings.model,
  echoDimension: settings.echoDimension,
  workers: settings.workers ?? "auto",
  intraOpNumThreads: settings.threads ?? "auto",
  recalibrate: settings.recalibrate,
  tokenizerWorkers: tokenizerWorkers(settings),
  runTimeout: Duration.millis(runTimeoutMs(settings))
})

/**
 * The model Layer the settings name (`default`, `tiny`, `echo` or a directory).
 *
 * @since 0.1.0
 * @category layers
 */
export const modelLayer = (
  settings: EngineSettings
): Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError> => ModelSource.layer(modelOptions(settings))

const batchSizeLayer = (settings: EngineSettings): Layer.Layer<BatchSizePolicy.BatchSizePolicy> =>
  settings.batchPolicy === "adaptive"
    ? BatchSizePolicy.adaptive({
      maxBatchSize: settings.maxBatchSize,
      maxBatchCost: settings.maxBatchTokens,
      targetLatencyMs: settings.targetLatencyMs
    })
    : BatchSizePolicy.fixed({ maxBatchSize: settings.maxBatchSize, maxBatchCost: settings.maxBatchTokens })

const waitLayer = (settings: EngineSettings): Layer.Layer<WaitPolicy.WaitPolicy> =>
  settings.waitPolicy === "none"
    ? WaitPolicy.none
    : settings.waitPolicy === "fixed"
    ? WaitPolicy.fixed(settings.maxWaitMs)
    : WaitPolicy.adaptive({ maxWaitMs: settings.maxWaitMs })

/**
 * The batching policies the settings select.
 *
 * @since 0.1.0
 * @category layers
 */
export const policiesLayer = (
  settings: EngineSettings
): Layer.Layer<BatchSizePolicy.BatchSizePolicy | WaitPolicy.WaitPolicy | QueuePolicy.QueuePolicy> =>
  Layer.mergeAll(
    batchSizeLayer(settings),
    waitLayer(settings),
    QueuePolicy.layer({
      capacity: settings.queueCapacity,
      overflow: settings.overflow,
      dynamic: settings.queueDynamic,
      shedLate: settings.shedLate
    })
  )

/**
 * The `Embedder` the settings describe, on the given model Layer (default: the one
 * `settings.model` names). Closing it drains within `settings.drainTimeoutMs`.
 *
 * @example
 * ```ts
 * import { Embedder, EngineLayers } from "@adabatch/core"
 * import { Effect } from "effect"
 *
 * const settings: EngineLayers.EngineSettings = {
 *   model: "echo", echoDimension: 8, workers: 1, threads: 1, recalibrate: false, tokenizerWorkers: 0,
 *   batchPolicy: "adaptive", maxBatchSize: 32, maxBatchTokens: 16384, targetLatencyMs: undefined,
 *   waitPolicy: "adaptive", maxWaitMs: 5, queueCapacity: 1024, overflow: "reject", shedLate: true,
 *   queueDynamic: undefined, requestTimeoutMs: 30_000, runTimeoutMs: undefined, drainTimeoutMs: 10_000,
 *   isolateFailures: true, feedWindow: undefined
 * }
 * const program = Effect.gen(function*() {
 *   const embedder = yield* Embedder.Embedder
 *   return yield* embedder.embed(["hello"])
 * }).pipe(Effect.provide(EngineLayers.layer(settings)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  settings: EngineSettings,
  model: Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError> = modelLayer(settings)
): Layer.Layer<Embedder.Embedder, ModelError.ModelLoadError> =>
  Embedder.layer({
    workers: settings.workers,
    requestTimeout: Duration.millis(settings.requestTimeoutMs),
    drainTimeout: Duration.millis(settings.drainTimeoutMs),
    isolateFailures: settings.isolateFailures,
    feedWindow: settings.feedWindow
  }).pipe(Layer.provide(Layer.merge(policiesLayer(settings), model)))
