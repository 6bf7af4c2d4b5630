/**
 * `@adabatch/core`: an adaptive dynamic-batching engine for Effect, and ONNX text-embedding models
 * provided as scoped Layers.
 *
 * - scheduling: {@link Batcher}, {@link BatchSizePolicy}, {@link WaitPolicy}, {@link QueuePolicy},
 *   {@link BatchError}, {@link BatchMetrics} (generic over any `batch -> results` function);
 * - model: {@link EmbeddingModel}, {@link ModelError} and the model Layers;
 * - glue: {@link Embedder} (the model behind the engine), {@link VectorShape} (`dimensions`, `normalize`).
 *
 * Test hooks (crash a model worker, fault injection) are in `@adabatch/core/testing`.
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
/** The adaptive batch-size policy's search (pure state). @since 0.1.0 */
export * as BatchSizeSearch from "./batching/BatchSizeSearch.js"
/** @since 0.1.0 */
export * as DurationRecorder from "./batching/DurationRecorder.js"
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
/** Vectors cut to `dimensions` and normalised, once, in core. @since 0.1.0 */
export * as VectorShape from "./VectorShape.js"
/** @since 0.1.0 */
export * as EngineLayers from "./EngineLayers.js"
/** @since 0.1.0 */
export * as TokenStates from "./TokenStates.js"
/** @since 0.1.0 */
export * as TokenOffsets from "./model/tokenizer/TokenOffsets.js"
/** @since 0.1.0 */
export * as ModelSource from "./model/ModelSource.js"
/** @since 0.1.0 */
export * as OnnxModel from "./model/onnx/OnnxModel.js"
/** @since 0.1.0 */
export * as EchoModel from "./model/echo/EchoModel.js"
/** @since 0.1.0 */
export * as ModelDirectory from "./model/ModelDirectory.js"
/** @since 0.1.0 */
export * as ModelTokenizer from "./model/tokenizer/ModelTokenizer.js"
/** @since 0.1.0 */
export * as ModelMetrics from "./model/ModelMetrics.js"
/** The process's real CPU and memory allowance (affinity, cgroup quota and limits). @since 0.1.0 */
export * as Allowance from "./model/onnx/layout/Allowance.js"
/** Worker layouts: candidates and the rule that picks one. @since 0.1.0 */
export * as LayoutChoice from "./model/onnx/layout/LayoutChoice.js"
/** Measuring worker layouts on the model and machine. @since 0.1.0 */
export * as LayoutCalibration from "./model/onnx/layout/LayoutCalibration.js"
/** The layout calibration's on-disk cache. @since 0.1.0 */
export * as LayoutCache from "./model/onnx/layout/LayoutCache.js"
/** Deciding workers x threads: configured, from the usable cores, or calibrated. @since 0.1.0 */
export * as WorkerLayout from "./model/onnx/layout/WorkerLayout.js"
/** @since 0.1.0 */
export * as TokenizerPool from "./model/tokenizer/TokenizerPool.js"
/** The generated built-in models (`default`: MiniLM-L6-shaped, `tiny`) and the English corpus. @since 0.1.0 */
export * as BuiltinModel from "./model/builtin/index.js"

/**
 * @since 0.1.0
 */
export const version = "0.1.0"
