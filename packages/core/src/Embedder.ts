/**
 * `Embedder`: the embedding model behind the batching engine. Texts are tokenized at admission
 * (so each one's token count is its batching cost), submitted to a `Batcher` as one item each,
 * and answered once all of a request's items are done; items of one request may share batches
 * with other requests.
 *
 * This is what the HTTP server and in-process users call.
 *
 * @since 0.1.0
 */
import { Context, type Duration, type Effect } from "effect"
import type { BatcherError } from "./batching/BatchError.js"
import type { BatcherSnapshot } from "./batching/Batcher.js"
import type { ModelInfo } from "./model/EmbeddingModel.js"
import type { InferenceFailed, InputTooLong, TokenizationFailed } from "./model/ModelError.js"

/**
 * Per-call options.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedOptions {
  /** Cut over-long texts instead of failing with `InputTooLong` (default `false`). */
  readonly truncate?: boolean
  /** Time budget for the whole call; default: the engine's request timeout. */
  readonly timeout?: Duration.Input
}

/**
 * Time spent in each stage of one call, in milliseconds (TEI-style response headers).
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedTimings {
  readonly tokenizationMs: number
  /** Longest time any of the call's items waited in the queue. */
  readonly queueMs: number
  /** Longest batch execution time among the batches that computed the call's items. */
  readonly inferenceMs: number
  readonly totalMs: number
}

/**
 * The result of one call: one vector per text, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedResult {
  readonly embeddings: ReadonlyArray<Float32Array>
  /** Token count per text (special tokens included, after truncation). */
  readonly tokenCounts: ReadonlyArray<number>
  /** Sum of `tokenCounts`. */
  readonly tokens: number
  readonly timings: EmbedTimings
}

/**
 * Everything an `embed` call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type EmbedError = InputTooLong | TokenizationFailed | InferenceFailed | BatcherError

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class Embedder extends Context.Service<Embedder, {
  readonly info: ModelInfo
  readonly embed: (texts: ReadonlyArray<string>, options?: EmbedOptions) => Effect.Effect<EmbedResult, EmbedError>
  /** Queue, workers and the adaptive policies' current values. */
  readonly snapshot: Effect.Effect<BatcherSnapshot>
  /** Succeeds when the model answers. */
  readonly ping: Effect.Effect<void, InferenceFailed>
}>()("@adabatch/core/Embedder") {}
