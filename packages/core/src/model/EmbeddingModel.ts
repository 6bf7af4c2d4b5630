/**
 * The `EmbeddingModel` service: texts in, L2-normalised float32 embeddings out.
 *
 * It is split in two steps so that the batching engine can sit between them:
 * - `tokenize` runs at admission, so the engine knows each input's token cost before batching:
 *   on the caller's fiber, except the texts too long to tokenize there without holding the event
 *   loop, which go to tokenization worker threads;
 * - `embedBatch` is the engine's `batch -> results` function: it packs a batch of tokenized
 *   inputs (padded only to the longest one), runs it in a worker thread and returns one vector per
 *   input, in order.
 *
 * Implementations: the ONNX model (`OnnxModel`, sessions in worker threads) and the `echo` model
 * (no ONNX; deterministic vectors, for overhead benchmarks).
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { InferenceFailed, InputTooLong, TokenizationFailed, TokenizerWorkerFailed } from "./ModelError.js"
import type { LayoutReport } from "./WorkerLayout.js"

/**
 * What a loaded model is.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelInfo {
  /** A short id, e.g. `"adabatch/minilm-l6-random"`, or the directory name of a user model. */
  readonly id: string
  /** `"onnx"` or `"echo"`. */
  readonly kind: "onnx" | "echo"
  /** Where the model was loaded from (`undefined` for echo). */
  readonly path: string | undefined
  /** Embedding dimension. */
  readonly dimension: number
  /** Maximum input length in tokens, special tokens included. */
  readonly maxLength: number
  /** How token states become one vector when the graph does not do it itself. */
  readonly pooling: "mean" | "cls"
  /** Whether embeddings are L2-normalised by default. */
  readonly normalize: boolean
  /** Worker threads running inference, and intra-op threads per session. */
  readonly workers: number
  readonly intraOpNumThreads: number
  /** How `workers` x `intraOpNumThreads` was decided (ONNX models; see `WorkerLayout`). */
  readonly layout?: LayoutReport | undefined
}

/**
 * One tokenized text. `ids` holds the token ids including special tokens; its length is the
 * input's cost for the batching engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded {
  readonly ids: Int32Array
  /** `true` when the text was cut to `maxLength`. */
  readonly truncated: boolean
}

/**
 * Options for tokenization.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenizeOptions {
  /** Cut texts longer than the model's maximum length instead of failing with `InputTooLong`. */
  readonly truncate: boolean
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class EmbeddingModel extends Context.Service<EmbeddingModel, {
  readonly info: ModelInfo
  /**
   * Tokenizes texts: synchronously on the caller's fiber, except the texts too long to tokenize
   * there without holding the event loop (see `ModelTokenizer.tokenize`). `index` in errors is the
   * position in `texts`.
   */
  readonly tokenize: (
    texts: ReadonlyArray<string>,
    options: TokenizeOptions
  ) => Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed>
  /**
   * Embeds a batch of tokenized inputs in a worker thread. Returns one vector of `info.dimension`
   * floats per input, in input order. Vectors are L2-normalised when `info.normalize` is true.
   */
  readonly embedBatch: (batch: ReadonlyArray<Encoded>) => Effect.Effect<Array<Float32Array>, InferenceFailed>
  /** Succeeds when a worker answers (used by `/health`). */
  readonly ping: Effect.Effect<void, InferenceFailed>
}>()("@adabatch/core/EmbeddingModel") {}
