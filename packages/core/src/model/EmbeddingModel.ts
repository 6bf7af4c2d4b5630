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
import type { LayoutReport } from "./onnx/layout/WorkerLayout.js"

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
  /**
   * Named prompts (`config_sentence_transformers.json` `prompts`, e.g. `{"query": "query: "}`):
   * text put before an input when a request names the prompt. Empty when the model has none.
   */
  readonly prompts: Readonly<Record<string, string>>
  /** Whether the model gives token-level states (`embedTokens`, TEI's `/embed_all`). */
  readonly tokenStates: boolean
}

/**
 * One input: a text, or token ids to use as they are (special tokens included, as given).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | ReadonlyArray<number>

/**
 * One token of a text, as TEI's `/tokenize` reports it: `start` and `stop` are UTF-8 byte offsets
 * into the text (`null` for special tokens, which have their own string as `text`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Token {
  readonly id: number
  readonly text: string
  readonly special: boolean
  readonly start: number | null
  readonly stop: number | null
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
  /** Which end `truncate` cuts: `"right"` (default) keeps the start, `"left"` keeps the end. */
  readonly direction?: "left" | "right" | undefined
  /**
   * Text put before every input (a prompt such as `"query: "`). Token-id inputs are decoded, put
   * after the prompt and tokenized again, as TEI does.
   */
  readonly prompt?: string | undefined
}

/**
 * Options of `tokens` (TEI's `/tokenize`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TokensOptions {
  /** Add the model's special tokens (`[CLS]`, `[SEP]`); default true in TEI. */
  readonly addSpecialTokens: boolean
  /** Text put before every input. */
  readonly prompt?: string | undefined
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
    texts: ReadonlyArray<Input>,
    options: TokenizeOptions
  ) => Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed>
  /**
   * The tokens of each text with their ids, text and offsets (no length limit, no truncation).
   * `index` in errors is the position in `texts`.
   */
  readonly tokens: (
    texts: ReadonlyArray<string>,
    options: TokensOptions
  ) => Effect.Effect<Array<Array<Token>>, TokenizationFailed>
  /** The text of each list of token ids; `skipSpecialTokens` leaves `[CLS]`, `[SEP]`, … out. */
  readonly decode: (
    ids: ReadonlyArray<ReadonlyArray<number>>,
    skipSpecialTokens: boolean
  ) => Effect.Effect<Array<string>, TokenizationFailed>
  /**
   * Embeds a batch of tokenized inputs in a worker thread. Returns one vector of `info.dimension`
   * floats per input, in input order. Vectors are L2-normalised when `info.normalize` is true.
   */
  readonly embedBatch: (batch: ReadonlyArray<Encoded>) => Effect.Effect<Array<Float32Array>, InferenceFailed>
  /**
   * The token states of a batch (the model's `last_hidden_state`, before pooling, not normalised):
   * per input, one vector of `info.dimension` floats per token. `undefined` when the model has no
   * token-level output (`info.tokenStates` is false).
   */
  readonly embedTokens:
    | ((batch: ReadonlyArray<Encoded>) => Effect.Effect<Array<Array<Float32Array>>, InferenceFailed>)
    | undefined
  /** Succeeds when a worker answers (used by `/health`). */
  readonly ping: Effect.Effect<void, InferenceFailed>
}>()("@adabatch/core/EmbeddingModel") {}
