/**
 * Resolving the `--model` setting to an `EmbeddingModel` Layer:
 *
 * - `"default"` / `"tiny"`: a built-in model, generated on first use (`ensureBuiltinModel`), then
 *   loaded exactly like a user directory;
 * - `"echo"`: the echo model with its built-in tokenizer; `"echo:<name or dir>"`: the echo model
 *   with the tokenizer and length settings of a built-in model or a model directory;
 * - anything else: the path of a model directory.
 *
 * @since 0.1.0
 */
import { type Duration, Effect, Layer, type Scope } from "effect"
import { ensureBuiltinModel } from "./builtin/index.js"
import * as EchoModel from "./echo/EchoModel.js"
import { EmbeddingModel } from "./EmbeddingModel.js"
import type { ModelLoadError } from "./ModelError.js"
import * as OnnxModel from "./onnx/OnnxModel.js"
import type { Spinning } from "./onnx/WorkerProtocol.js"
import type { FaultInjection } from "./TestHooks.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ModelSourceOptions {
  /** `"default"`, `"tiny"`, `"echo"`, `"echo:<name or dir>"`, or a model directory. */
  readonly model: string
  /**
   * Vector dimension of the echo model (`"echo"` and `"echo:<name or dir>"`; ignored for ONNX
   * models). Default: the directory's dimension, else 384. A small dimension measures the engine
   * and transport without the cost of writing 384 floats per input.
   */
  readonly echoDimension?: number | undefined
  /**
   * Worker threads (ONNX models; default 1). `"auto"`: usable cores / threads, or, with
   * `intraOpNumThreads` also `"auto"`, a calibrated layout (see `WorkerLayout`).
   */
  readonly workers?: number | "auto" | undefined
  /** Intra-op threads per worker (ONNX models; default and `"auto"`: usable cores / workers). */
  readonly intraOpNumThreads?: number | "auto" | undefined
  /** Calibrate the worker layout again even when a cached calibration exists (ONNX models). */
  readonly recalibrate?: boolean | undefined
  /** Overrides of the layout calibration's time budget (tests). */
  readonly calibration?: OnnxModel.OnnxModelOptions["calibration"]
  /** When onnxruntime's threads spin-wait (ONNX models; default `"run"`; see `WorkerProtocol.Spinning`). */
  readonly spinning?: Spinning | undefined
  /** Reuse int64 input buffers across batches (ONNX models; default true). */
  readonly reuseInputBuffers?: boolean | undefined
  /** Fail a batch and replace its worker when it runs longer than this (ONNX models; default none). */
  readonly runTimeout?: Duration.Input | undefined
  /** Poison-input fault injection for reliability tests. */
  readonly faults?: FaultInjection | undefined
  /**
   * Tokenization worker threads for the texts too long to tokenize on the calling fiber (default:
   * `TokenizerPool.defaultWorkers()`; 0: every text is tokenized on the calling fiber). See
   * `ModelTokenizer.tokenize`.
   */
  readonly tokenizerWorkers?: number | undefined
  /**
   * Cache root of the built-in models and the layout calibration (default: `ADABATCH_CACHE_DIR`,
   * else `packages/core/.cache`).
   */
  readonly cacheDir?: string | undefined
}

const BUILTIN_NAMES = ["default", "tiny"] as const
const ECHO_PREFIX = "echo:"

const isBuiltin = (name: string): name is (typeof BUILTIN_NAMES)[number] =>
  (BUILTIN_NAMES as ReadonlyArray<string>).includes(name)

/** A built-in name to its generated directory; a path stays as it is. */
const directoryOf = (model: string, options: ModelSourceOptions): Effect.Effect<string, ModelLoadError> =>
  isBuiltin(model)
    ? ensureBuiltinModel(model, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })
    : Effect.succeed(model)

/**
 * Builds the model named by `options.model` in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: ModelSourceOptions
): Effect.Effect<EmbeddingModel["Service"], ModelLoadError, Scope.Scope> => {
  const model = options.model
  const echo = {
    dimension: options.echoDimension,
    faults: options.faults,
    tokenizerWorkers: options.tokenizerWorkers
  }
  if (model === "echo") return EchoModel.make(echo)
  if (model.startsWith(ECHO_PREFIX)) {
    return Effect.flatMap(
      directoryOf(model.slice(ECHO_PREFIX.length), options),
      (dir) => EchoModel.make({ ...echo, dir })
    )
  }
  return Effect.flatMap(directoryOf(model, options), (dir) =>
    OnnxModel.make({
      dir,
      workers: options.workers,
      intraOpNumThreads: options.intraOpNumThreads,
      spinning: options.spinning,
      reuseInputBuffers: options.reuseInputBuffers,
      runTimeout: options.runTimeout,
      faults: options.faults,
      cacheDir: options.cacheDir,
      recalibrate: options.recalibrate,
      calibration: options.calibration,
      tokenizerWorkers: options.tokenizerWorkers
    }))
}

/**
 * The model named by `options.model` as a `Layer`. Load errors surface when the Layer is built.
 *
 * @example
 * ```ts
 * import { EmbeddingModel, ModelSource } from "@adabatch/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const model = yield* EmbeddingModel.EmbeddingModel
 *   const encoded = yield* model.tokenize(["hello world", "a second text"], { truncate: true })
 *   const vectors = yield* model.embedBatch(encoded)
 *   return vectors.map((vector) => vector.length) // [model.info.dimension, model.info.dimension]
 * })
 *
 * // "tiny": the small built-in model, generated on first use; or "default", "echo", a directory
 * const dimensions = Effect.runPromise(program.pipe(Effect.provide(ModelSource.layer({ model: "tiny" }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ModelSourceOptions): Layer.Layer<EmbeddingModel, ModelLoadError> =>
  Layer.effect(EmbeddingModel, make(options))
