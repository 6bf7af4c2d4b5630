/**
 * Test and benchmark hooks into a running ONNX `EmbeddingModel`: crash a worker on demand, list
 * the worker threads, read restart and input-buffer counters.
 *
 * Not for production code paths: the functions find the model's worker pool through the service
 * value, and do nothing (or return `undefined`) for models that have no workers (`echo`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { EmbeddingModel } from "./EmbeddingModel.js"
import type { InputBufferStats } from "./onnx/InputBuffers.js"
import type { TokenizerPool } from "./tokenizer/TokenizerPool.js"
import type { WorkerPool } from "./onnx/WorkerPool.js"

const pools = new WeakMap<EmbeddingModel["Service"], WorkerPool>()
const tokenizerPools = new WeakMap<EmbeddingModel["Service"], TokenizerPool>()

/**
 * Associates a model service with its worker pool (called by `OnnxModel`).
 *
 * @since 0.1.0
 * @category internal
 */
export const register = (model: EmbeddingModel["Service"], pool: WorkerPool): void => {
  pools.set(model, pool)
}

/**
 * Associates a model service with its tokenization workers (called by `OnnxModel` and `EchoModel`).
 *
 * @since 0.1.0
 * @category internal
 */
export const registerTokenizerPool = (model: EmbeddingModel["Service"], pool: TokenizerPool): void => {
  tokenizerPools.set(model, pool)
}

/**
 * The tokenization workers of a model (crash one, list their threads); `undefined` when it has none.
 *
 * @since 0.1.0
 * @category testing
 */
export const tokenizerPool = (model: EmbeddingModel["Service"]): TokenizerPool | undefined => tokenizerPools.get(model)

/**
 * How to crash a worker:
 * - `"exit"`: the worker calls `process.exit` now (between runs);
 * - `"throw"`: the worker raises an uncaught exception outside any run;
 * - `"next-run"`: the worker exits when its next batch arrives, so that batch fails with
 *   `InferenceFailed` (a crash during a batch).
 *
 * @since 0.1.0
 * @category testing
 */
export type CrashMode = "exit" | "throw" | "next-run"

/**
 * Makes worker `worker` (slot index, default 0) of an ONNX model crash. The pool replaces it.
 *
 * @since 0.1.0
 * @category testing
 */
export const crashWorker = (
  model: EmbeddingModel["Service"],
  options?: { readonly worker?: number | undefined; readonly mode?: CrashMode | undefined }
): Effect.Effect<void> => {
  const pool = pools.get(model)
  return pool === undefined ? Effect.void : pool.crash(options?.worker ?? 0, options?.mode ?? "exit")
}

/**
 * The live workers' `threadId`s by slot (`undefined` for a slot being restarted); `undefined` for
 * a model without workers.
 *
 * @since 0.1.0
 * @category testing
 */
export const workerThreadIds = (model: EmbeddingModel["Service"]): ReadonlyArray<number | undefined> | undefined =>
  pools.get(model)?.threadIds()

/**
 * Workers restarted so far; `undefined` for a model without workers.
 *
 * @since 0.1.0
 * @category testing
 */
export const workerRestarts = (model: EmbeddingModel["Service"]): number | undefined => pools.get(model)?.restarts()

/**
 * Input buffer allocation counters (for the reuse / no-reuse comparison); `undefined` for a
 * model without workers.
 *
 * @since 0.1.0
 * @category testing
 */
export const inputBufferStats = (model: EmbeddingModel["Service"]): InputBufferStats | undefined =>
  pools.get(model)?.bufferStats()
