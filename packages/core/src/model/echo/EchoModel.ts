/**
 * The `echo` model: an `EmbeddingModel` that runs no neural network. Each input's vector is a
 * deterministic function of its token ids (an FNV-1a hash seeding a PRNG, expanded to `dimension`
 * floats, L2-normalised), computed in-process.
 *
 * It tokenizes for real (a directory's `tokenizer.json`, or the built-in word hasher) and applies
 * the same maximum length and truncation rules as the ONNX model, so benchmarks that use it
 * measure everything but inference.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Metric, type Scope } from "effect"
import { EmbeddingModel, type Encoded, type ModelInfo } from "../EmbeddingModel.js"
import * as ModelDirectory from "../ModelDirectory.js"
import { InferenceFailed, ModelLoadError } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import * as TestHooks from "../TestHooks.js"
import * as ModelTokenizer from "../tokenizer/ModelTokenizer.js"
import * as TokenizerPool from "../tokenizer/TokenizerPool.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface EchoModelOptions {
  /** A model directory whose `tokenizer.json` (and length settings) to use; `model.onnx` is not needed. */
  readonly dir?: string | undefined
  /** Embedding dimension (default: the directory's `adabatch.json` dimension, else 384). */
  readonly dimension?: number | undefined
  /** Maximum input length in tokens (default: the directory's, else 512). */
  readonly maxLength?: number | undefined
  /** A batch containing `poisonTokenId` fails with `InferenceFailed`, whatever the action (nothing runs in a worker). */
  readonly faults?: TestHooks.FaultInjection | undefined
  /**
   * Tokenization worker threads for the texts too long to tokenize on the calling fiber (default:
   * `TokenizerPool.defaultWorkers()`; 0: every text is tokenized on the calling fiber). See
   * `ModelTokenizer.tokenize`.
   */
  readonly tokenizerWorkers?: number | undefined
}

const DEFAULT_DIMENSION = 384
const DEFAULT_MAX_LENGTH = 512

/**
 * Writes the echo embedding of `ids` into `out[offset, offset + dimension)`.
 *
 * @since 0.1.0
 * @category models
 */
export const echoVector = (ids: ArrayLike<number>, out: Float32Array, offset: number, dimension: number): void => {
  let hash = 0x811c9dc5
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    hash = Math.imul(hash ^ (id & 0xff), 0x01000193)
    hash = Math.imul(hash ^ ((id >>> 8) & 0xff), 0x01000193)
    hash = Math.imul(hash ^ ((id >>> 16) & 0xff), 0x01000193)
    hash = Math.imul(hash ^ (id >>> 24), 0x01000193)
  }
  // mulberry32
  let state = hash >>> 0
  let sum = 0
  for (let d = 0; d < dimension; d++) {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    const value = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1
    out[offset + d] = value
    sum += value * value
  }
  const inv = sum === 0 ? 0 : 1 / Math.sqrt(sum)
  for (let d = 0; d < dimension; d++) out[offset + d] = out[offset + d]! * inv
}

const positiveInt = (name: string, value: number | undefined) =>
  value === undefined || (Number.isInteger(value) && value > 0)
    ? Effect.void
    : Effect.fail(new ModelLoadError({ path: "echo", reason: `${name} must be a positive integer, got ${value}` }))

/**
 * Builds the echo model in the current scope (closing it ends the tokenization workers).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options?: EchoModelOptions
): Effect.Effect<EmbeddingModel["Service"], ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* positiveInt("dimension", options?.dimension)
    yield* positiveInt("maxLength", options?.maxLength)
    const manifest = options?.dir === undefined
      ? undefined
      : yield* ModelDirectory.load(options.dir, { requireModel: false })
    const tokenizer = manifest?.tokenizer ?? ModelTokenizer.builtin
    const dimension = options?.dimension ?? manifest?.dimension ?? DEFAULT_DIMENSION
    const maxLength = options?.maxLength ?? manifest?.maxLength ?? DEFAULT_MAX_LENGTH
    const tokenizerPool = yield* TokenizerPool.forTokenizer(
      manifest?.path ?? "echo",
      tokenizer,
      options?.tokenizerWorkers
    )
    const info: ModelInfo = {
      id: manifest === undefined ? "echo" : `echo:${manifest.id}`,
      kind: "echo",
      path: undefined,
      dimension,
      maxLength,
      pooling: "mean",
      normalize: true,
      workers: 1,
      intraOpNumThreads: 1,
      prompts: manifest?.prompts ?? {},
      tokenStates: false
    }
    const inferenceMs = ModelMetrics.inferenceMsFor("echo")
    const poison = options?.faults?.poisonTokenId

    const embedBatch = (batch: ReadonlyArray<Encoded>) =>
      Effect.suspend(() => {
        if (batch.length === 0) return Effect.succeed<Array<Float32Array>>([])
        const start = performance.now()
        let tokens = 0
        let longest = 1
        for (const input of batch) {
          if (poison !== undefined && input.ids.includes(poison)) {
            return Effect.fail(new InferenceFailed({ reason: "injected failure (poison input)", worker: 0 }))
          }
          tokens += input.ids.length
          if (input.ids.length > longest) longest = input.ids.length
        }
        const output = new Float32Array(batch.length * dimension)
        const vectors = new Array<Float32Array>(batch.length)
        for (let r = 0; r < batch.length; r++) {
          echoVector(batch[r]!.ids, output, r * dimension, dimension)
          vectors[r] = output.subarray(r * dimension, (r + 1) * dimension)
        }
        const elapsed = performance.now() - start
        return Metric.update(ModelMetrics.batchTokens, tokens).pipe(
          Effect.andThen(Metric.update(ModelMetrics.paddingRatio, 1 - tokens / (batch.length * longest))),
          Effect.andThen(Metric.update(inferenceMs, elapsed)),
          Effect.as(vectors)
        )
      })

    const service = EmbeddingModel.of({
      info,
      tokenize: (texts, tokenizeOptions) =>
        ModelTokenizer.tokenize(tokenizer, maxLength, texts, tokenizeOptions, tokenizerPool),
      tokens: (texts, tokensOptions) => ModelTokenizer.tokens(tokenizer, texts, tokensOptions),
      decode: (ids, skipSpecialTokens) => ModelTokenizer.decode(tokenizer, ids, skipSpecialTokens),
      embedBatch,
      embedTokens: undefined,
      ping: Effect.void
    })
    if (tokenizerPool !== undefined) TestHooks.registerTokenizerPool(service, tokenizerPool)
    return service
  })

/**
 * The echo model as a `Layer`.
 *
 * @example
 * ```ts
 * import { EchoModel, EmbeddingModel } from "@adabatch/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const model = yield* EmbeddingModel.EmbeddingModel
 *   const [vector] = yield* model.embedBatch(yield* model.tokenize(["hello"], { truncate: true }))
 *   return vector!.length // 8
 * })
 *
 * const eight = Effect.runPromise(program.pipe(Effect.provide(EchoModel.layer({ dimension: 8 }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: EchoModelOptions): Layer.Layer<EmbeddingModel, ModelLoadError> =>
  Layer.effect(EmbeddingModel, make(options))
