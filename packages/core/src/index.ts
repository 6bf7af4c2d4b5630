/**
 * `@adabatch/core`: an adaptive dynamic-batching engine for Effect, and ONNX text-embedding models
 * provided as scoped Layers.
 *
 * - scheduling: {@link Batcher}, {@link BatchSizePolicy}, {@link WaitPolicy}, {@link QueuePolicy},
 *   {@link BatchError}, {@link BatchMetrics} (generic over any `batch -> results` function);
 * - model: {@link EmbeddingModel}, {@link ModelError} and the model Layers;
 * - glue: {@link Embedder} (the model behind the engine).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Batcher from "./batching/Batcher.js"
/** @since 0.1.0 */
export * as BatchError from "./batching/BatchError.js"
/** @since 0.1.0 */
export * as BatchMetrics from "./batching/BatchMetrics.js"
/** @since 0.1.0 */
export * as BatchSizePolicy from "./batching/BatchSizePolicy.js"
/** @since 0.1.0 */
export * as QueuePolicy from "./batching/QueuePolicy.js"
/** @since 0.1.0 */
export * as WaitPolicy from "./batching/WaitPolicy.js"
/** @since 0.1.0 */
export * as EmbeddingModel from "./model/EmbeddingModel.js"
/** @since 0.1.0 */
export * as ModelError from "./model/ModelError.js"
/** @since 0.1.0 */
export * as Embedder from "./Embedder.js"

/**
 * @since 0.1.0
 */
export const version = "0.1.0"
