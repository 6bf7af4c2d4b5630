/**
 * What a model exposes to the test entry (`@adabatch/core/testing`), and nothing else uses: the
 * fault-injection option and the registry through which the `ModelTesting` hooks find a model
 * service's worker pools.
 *
 * Internal: the main entry does not export it; tests use `ModelTesting` from `@adabatch/core/testing`.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { EmbeddingModel } from "./EmbeddingModel.js"
import type { InputBufferStats } from "./onnx/InputBuffers.js"
import type { RunFault } from "./onnx/WorkerProtocol.js"
import type { TokenizerPool } from "./tokenizer/TokenizerPool.js"

/**
 * Fault injection for reliability tests: any batch that contains `poisonTokenId` (in any input)
 * fails with `InferenceFailed` (`action: "fail"`, the worker survives), crashes the worker
 * running it (`action: "crash"`, the worker is replaced), or blocks it forever (`action: "hang"`:
 * the batch fails when `runTimeout` expires and the worker is replaced; without a run timeout it
 * stays stuck until the pool closes). Find the id of a word with `EmbeddingModel.tokenize`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultInjection {
  readonly poisonTokenId: number
  readonly action: RunFault
}

/**
 * How to crash a worker:
 * - `"exit"`: the worker calls `process.exit` now (between runs);
 * - `"throw"`: the worker raises an uncaught exception outside any run;
 * - `"next-run"`: the worker exits when its next batch arrives, so that batch fails with
 *   `InferenceFailed` (a crash during a batch).
 *
 * @since 0.1.0
 * @category models
 */
export type CrashMode = "exit" | "throw" | "next-run"

/**
 * The test hooks of a pool of inference workers (`WorkerPool` has them).
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerHooks {
  /** Makes worker `worker` die (see {@link CrashMode}). */
  readonly crash: (worker: number, mode: CrashMode) => Effect.Effect<void>
  /** Thread ids of the live workers, by slot (`undefined` while a slot has no worker). */
  readonly threadIds: () => ReadonlyArray<number | undefined>
  /** Workers restarted so far. */
  readonly restarts: () => number
  readonly bufferStats: () => InputBufferStats
}

const pools = new WeakMap<EmbeddingModel["Service"], WorkerHooks>()
const tokenizerPools = new WeakMap<EmbeddingModel["Service"], TokenizerPool>()

/**
 * Associates a model service with its worker pool (called by `OnnxModel`).
 *
 * @since 0.1.0
 * @category internal
 */
export const register = (model: EmbeddingModel["Service"], pool: WorkerHooks): void => {
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
 * The worker pool registered for a model service, if any.
 *
 * @since 0.1.0
 * @category internal
 */
export const workerHooks = (model: EmbeddingModel["Service"]): WorkerHooks | undefined => pools.get(model)

/**
 * The tokenization workers registered for a model service, if any.
 *
 * @since 0.1.0
 * @category internal
 */
export const tokenizerPool = (model: EmbeddingModel["Service"]): TokenizerPool | undefined => tokenizerPools.get(model)
