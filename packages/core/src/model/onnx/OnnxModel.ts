/**
 * The ONNX `EmbeddingModel`: a model directory (see `ModelDirectory`) served by onnxruntime
 * sessions in worker threads.
 *
 * Building the layer reads the directory, starts the workers and runs one probe batch in each, so
 * every load error (missing files, bad JSON, an ONNX file onnxruntime rejects, unusable inputs or
 * outputs, a tokenizer that does not match the model) is a `ModelLoadError` at start-up. Closing
 * the layer's scope releases the sessions and ends the worker threads.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Layer, Metric, type Scope } from "effect"
import { EmbeddingModel, type Encoded, type ModelInfo } from "../EmbeddingModel.js"
import * as ModelDirectory from "../ModelDirectory.js"
import { ModelLoadError } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import * as TestHooks from "../TestHooks.js"
import * as ModelTokenizer from "../tokenizer/ModelTokenizer.js"
import * as TokenizerPool from "../tokenizer/TokenizerPool.js"
import type * as Allowance from "./layout/Allowance.js"
import * as WorkerLayout from "./layout/WorkerLayout.js"
import * as WorkerPool from "./WorkerPool.js"
import type { Spinning, WorkerSessionOptions } from "./WorkerProtocol.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface OnnxModelOptions {
  /** The model directory. */
  readonly dir: string
  /**
   * Worker threads, each with its own session (default 1). `"auto"`: usable cores / threads, or,
   * with `intraOpNumThreads` also `"auto"`, a calibrated layout (see `WorkerLayout`).
   */
  readonly workers?: number | "auto" | undefined
  /** Intra-op threads per session (default and `"auto"`: usable cores / workers, at least 1). */
  readonly intraOpNumThreads?: number | "auto" | undefined
  /** Cache root of the layout calibration (default: `ADABATCH_CACHE_DIR`, else `packages/core/.cache`). */
  readonly cacheDir?: string | undefined
  /** Calibrate the layout again even when a cached calibration exists. */
  readonly recalibrate?: boolean | undefined
  /** Overrides of the calibration's time budget (tests). */
  readonly calibration?: WorkerLayout.ResolveOptions["settings"]
  /** The CPU and memory the layout may use (default: the process's, `Allowance.read()`). */
  readonly allowance?: Allowance.Allowance | undefined
  /** onnxruntime graph optimisations (default `"all"`). */
  readonly graphOptimizationLevel?: WorkerSessionOptions["graphOptimizationLevel"] | undefined
  /**
   * When onnxruntime's pool threads spin-wait for work (default `"run"`: only while a run lasts).
   * Sleeping threads must be woken once per parallel operator, which made a batch-1 run of the
   * default model ~0.8 ms (~20 %) slower (`"off"`, `test/model/scripts/spinning-ab.ts`); spinning
   * after runs (`"always"`, onnxruntime's default) takes a core from the main thread and the other
   * workers for milliseconds after every run (`test/model/scripts/spinning.ts`).
   */
  readonly spinning?: Spinning | undefined
  /** Reuse the int64 input buffers across batches (default true; false for the bench baseline). */
  readonly reuseInputBuffers?: boolean | undefined
  /**
   * A batch still running after this long fails with `InferenceFailed`, and its worker is
   * terminated and replaced (default: no limit).
   */
  readonly runTimeout?: Duration.Input | undefined
  /** Fault injection for reliability tests (see `ModelTesting.FaultInjection` in `@adabatch/core/testing`). */
  readonly faults?: TestHooks.FaultInjection | undefined
  /**
   * Tokenization worker threads for the texts too long to tokenize on the calling fiber (default:
   * `TokenizerPool.defaultWorkers()`; 0: every text is tokenized on the calling fiber, however
   * long). See `ModelTokenizer.tokenize`.
   */
  readonly tokenizerWorkers?: number | undefined
}

const countOrAuto = (dir: string, name: string, value: number | "auto" | undefined) =>
  value === undefined || value === "auto" || (Number.isInteger(value) && value > 0)
    ? Effect.succeed(value)
    : Effect.fail(new ModelLoadError({ path: dir, reason: `${name} must be a positive integer, got ${value}` }))

const sessionOptions = (options: OnnxModelOptions, intraOpNumThreads: number): WorkerSessionOptions => ({
  intraOpNumThreads,
  interOpNumThreads: 1,
  graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
  executionMode: "sequential",
  spinning: options.spinning ?? "run"
})

const poolOptions = (
  options: OnnxModelOptions,
  manifest: ModelDirectory.ModelManifest,
  layout: { readonly workers: number; readonly threads: number }
): WorkerPool.WorkerPoolOptions => ({
  modelFile: manifest.modelFile,
  workers: layout.workers,
  sessionOptions: sessionOptions(options, layout.threads),
  pooling: manifest.pooling,
  normalize: manifest.normalize,
  padId: manifest.tokenizer.padId,
  probeIds: manifest.tokenizer.probeIds,
  dimension: manifest.dimension,
  reuseInputBuffers: options.reuseInputBuffers ?? true,
  runTimeoutMs: options.runTimeout === undefined ? undefined : Duration.toMillis(options.runTimeout),
  faults: options.faults
})

/**
 * Splits a `[batch, dim]` output into one vector per input (views, no copy).
 *
 * @since 0.1.0
 * @category models
 */
export const splitRows = (output: Float32Array, rows: number, dimension: number): Array<Float32Array> => {
  const vectors = new Array<Float32Array>(rows)
  for (let r = 0; r < rows; r++) vectors[r] = output.subarray(r * dimension, (r + 1) * dimension)
  return vectors
}

/**
 * Splits a `[batch, seq, dim]` output into each input's token vectors: as many as the input has
 * tokens, the padding left out (views, no copy).
 *
 * @since 0.1.0
 * @category models
 */
export const splitTokens = (
  out: { readonly output: Float32Array; readonly seq: number; readonly dimension: number },
  batch: ReadonlyArray<Encoded>
): Array<Array<Float32Array>> =>
  batch.map((input, b) => {
    const rows = new Array<Float32Array>(input.ids.length)
    for (let t = 0; t < rows.length; t++) {
      const at = (b * out.seq + t) * out.dimension
      rows[t] = out.output.subarray(at, at + out.dimension)
    }
    return rows
  })

/**
 * Builds the service in the current scope: reads the directory, starts the workers, and closes
 * them when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: OnnxModelOptions
): Effect.Effect<EmbeddingModel["Service"], ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const requestedWorkers = yield* countOrAuto(options.dir, "workers", options.workers)
    const requestedThreads = yield* countOrAuto(options.dir, "intraOpNumThreads", options.intraOpNumThreads)
    const manifest = yield* ModelDirectory.load(options.dir)
    const tokenizerPool = yield* TokenizerPool.forTokenizer(
      manifest.path,
      manifest.tokenizer,
      options.tokenizerWorkers
    )
    const session = sessionOptions(options, 1)
    const { layout, report } = yield* WorkerLayout.resolve({
      workers: requestedWorkers,
      threads: requestedThreads,
      modelFile: manifest.modelFile,
      tokenizer: manifest.tokenizer,
      maxLength: manifest.maxLength,
      // calibration pools: no run timeout and no fault injection
      makePool: (candidate) =>
        WorkerPool.make({ ...poolOptions(options, manifest, candidate), runTimeoutMs: undefined, faults: undefined }),
      sessionKey: `opt=${session.graphOptimizationLevel},spinning=${session.spinning}`,
      cacheDir: options.cacheDir,
      recalibrate: options.recalibrate,
      settings: options.calibration,
      allowance: options.allowance
    })
    const workers = layout.workers
    const intraOpNumThreads = layout.threads
    const pool = yield* WorkerPool.make(poolOptions(options, manifest, layout))

    const info: ModelInfo = {
      id: manifest.id,
      kind: "onnx",
      path: manifest.path,
      dimension: pool.dimension,
      maxLength: manifest.maxLength,
      pooling: manifest.pooling,
      normalize: manifest.normalize,
      workers,
      intraOpNumThreads,
      layout: report,
      prompts: manifest.prompts,
      tokenStates: pool.plan.tokenOutput !== undefined
    }
    const inferenceMs = Array.from({ length: workers }, (_, worker) => ModelMetrics.inferenceMsFor(worker))

    const record = (out: WorkerPool.BatchOutput) =>
      Effect.andThen(
        Metric.update(ModelMetrics.batchTokens, out.tokens),
        Effect.andThen(
          Metric.update(ModelMetrics.paddingRatio, 1 - out.tokens / out.slots),
          Effect.andThen(
            Metric.update(inferenceMs[out.worker]!, out.runMs),
            out.allocatedBytes > 0 ? Metric.update(ModelMetrics.inputBufferBytes, out.allocatedBytes) : Effect.void
          )
        )
      )

    const embedBatch = (batch: ReadonlyArray<Encoded>) =>
      batch.length === 0
        ? Effect.succeed<Array<Float32Array>>([])
        : Effect.flatMap(
          pool.run(batch),
          (out) => Effect.as(record(out), splitRows(out.output, batch.length, out.dimension))
        )

    const embedTokens = (batch: ReadonlyArray<Encoded>) =>
      batch.length === 0
        ? Effect.succeed<Array<Array<Float32Array>>>([])
        : Effect.flatMap(
          pool.run(batch, true),
          (out) => Effect.as(record(out), splitTokens(out, batch))
        )

    const service = EmbeddingModel.of({
      info,
      tokenize: (texts, tokenizeOptions) =>
        ModelTokenizer.tokenize(manifest.tokenizer, manifest.maxLength, texts, tokenizeOptions, tokenizerPool),
      tokens: (texts, options) => ModelTokenizer.tokens(manifest.tokenizer, texts, options),
      decode: (ids, skipSpecialTokens) => ModelTokenizer.decode(manifest.tokenizer, ids, skipSpecialTokens),
      embedBatch,
      embedTokens: info.tokenStates ? embedTokens : undefined,
      ping: pool.ping
    })
    TestHooks.register(service, pool)
    if (tokenizerPool !== undefined) TestHooks.registerTokenizerPool(service, tokenizerPool)
    return service
  })

/**
 * The ONNX model as a `Layer`.
 *
 * @example
 * ```ts
 * import { EmbeddingModel, OnnxModel } from "@adabatch/core"
 * import { Effect } from "effect"
 *
 * // a directory with model.onnx and tokenizer.json (and optionally adabatch.json)
 * const ModelLive = (dir: string) => OnnxModel.layer({ dir, workers: 2, intraOpNumThreads: 1 })
 *
 * const program = Effect.gen(function*() {
 *   const model = yield* EmbeddingModel.EmbeddingModel
 *   return `${model.info.workers} workers, ${model.info.dimension} dimensions`
 * })
 *
 * const describe = (dir: string) => Effect.runPromise(program.pipe(Effect.provide(ModelLive(dir))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: OnnxModelOptions): Layer.Layer<EmbeddingModel, ModelLoadError> =>
  Layer.effect(EmbeddingModel, make(options))
