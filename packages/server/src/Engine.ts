/**
 * The engine behind the HTTP API, composed from the server configuration: the model
 * (`ModelSource`), the batching policies and the `Embedder`.
 *
 * @since 0.1.0
 */
import type { EmbeddingModel, ModelError } from "@adabatch/core"
import { BatchSizePolicy, Embedder, ModelSource, QueuePolicy, TokenizerPool, WaitPolicy } from "@adabatch/core"
import { Duration, Layer } from "effect"
import type { ServerConfig } from "./ServerConfig.js"

/**
 * The run timeout of one batch the configuration gives, in ms: `runTimeoutMs`, else the request
 * timeout + 1 s: a batch still running then can no longer answer any of its requests in time (they
 * have had their 504 from the engine's deadline first), so its worker is replaced.
 *
 * @since 0.1.0
 * @category options
 */
export const runTimeoutMs = (config: ServerConfig): number => config.runTimeoutMs ?? config.requestTimeoutMs + 1000

/**
 * The tokenization worker threads the configuration gives (`auto`: `TokenizerPool.defaultWorkers`).
 *
 * @since 0.1.0
 * @category options
 */
export const tokenizerWorkers = (config: ServerConfig): number =>
  config.tokenizerWorkers ?? TokenizerPool.defaultWorkers()

/**
 * The `ModelSource` options the configuration gives: the model, its workers and threads (`auto`
 * unless set: with both `auto`, a calibrated layout), and the run timeout, so a hung batch fails
 * and its worker is replaced instead of holding it forever.
 *
 * @since 0.1.0
 * @category options
 */
export const modelOptions = (config: ServerConfig): ModelSource.ModelSourceOptions => ({
  model: config.model,
  echoDimension: config.echoDimension,
  workers: config.workers ?? "auto",
  intraOpNumThreads: config.threads ?? "auto",
  recalibrate: config.recalibrate,
  tokenizerWorkers: tokenizerWorkers(config),
  runTimeout: Duration.millis(runTimeoutMs(config))
})

/**
 * The model Layer the configuration names (`default`, `tiny`, `echo` or a directory).
 *
 * @since 0.1.0
 * @category layers
 */
export const modelLayer = (
  config: ServerConfig
): Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError> => ModelSource.layer(modelOptions(config))

/**
 * The batching policies the configuration selects.
 *
 * @since 0.1.0
 * @category layers
 */
export const policiesLayer = (
  config: ServerConfig
): Layer.Layer<BatchSizePolicy.BatchSizePolicy | WaitPolicy.WaitPolicy | QueuePolicy.QueuePolicy> =>
  Layer.mergeAll(
    config.batchPolicy === "adaptive"
      ? BatchSizePolicy.adaptive({
        maxBatchSize: config.maxBatchSize,
        maxBatchCost: config.maxBatchTokens,
        targetLatencyMs: config.targetLatencyMs
      })
      : BatchSizePolicy.fixed({ maxBatchSize: config.maxBatchSize, maxBatchCost: config.maxBatchTokens }),
    config.waitPolicy === "none"
      ? WaitPolicy.none
      : config.waitPolicy === "fixed"
      ? WaitPolicy.fixed(config.maxWaitMs)
      : WaitPolicy.adaptive({ maxWaitMs: config.maxWaitMs }),
    QueuePolicy.layer({
      capacity: config.queueCapacity,
      overflow: config.overflow,
      dynamic: config.queueDynamic,
      shedLate: config.shedLate
    })
  )

/**
 * The `Embedder` the configuration describes, on the given model Layer (default: the one
 * `config.model` names). Closing it drains within `config.drainTimeoutMs`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: ServerConfig,
  model: Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError> = modelLayer(config)
): Layer.Layer<Embedder.Embedder, ModelError.ModelLoadError> =>
  Embedder.layer({
    workers: config.workers,
    requestTimeout: Duration.millis(config.requestTimeoutMs),
    drainTimeout: Duration.millis(config.drainTimeoutMs),
    isolateFailures: config.isolateFailures,
    feedWindow: config.feedWindow
  }).pipe(Layer.provide(Layer.merge(policiesLayer(config), model)))
