/**
 * Test and benchmark hooks into a running ONNX `EmbeddingModel`: crash a worker on demand, list
 * the worker threads, read restart and input-buffer counters; and the fault-injection option's
 * type (`FaultInjection`, given to `ModelSource` / `OnnxModel` / `EchoModel` as `faults`).
 *
 * Not for production code paths (exported from `@adabatch/core/testing`, not the main entry): the
 * functions find the model's worker pool through the service value, and do nothing (or return
 * `undefined`) for models that have no workers (`echo`).
 *
 * @example
 * ```ts
 * import { ModelSource } from "@adabatch/core"
 * import { ModelTesting } from "@adabatch/core/testing"
 * import { Effect } from "effect"
 *
 * const restartsAfterACrash = Effect.scoped(
 *   Effect.gen(function*() {
 *     const model = yield* ModelSource.make({ model: "tiny" })
 *     yield* ModelTesting.crashWorker(model, { mode: "exit" })
 *     return ModelTesting.workerRestarts(model)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { EmbeddingModel } from "../model/EmbeddingModel.js"
import type { InputBufferStats } from "../model/onnx/InputBuffers.js"
import * as TestHooks from "../model/TestHooks.js"
import type { TokenizerPool } from "../model/tokenizer/TokenizerPool.js"

/**
 * Fault injection for reliability tests (the `faults` option of the model Layers): a batch that
 * contains `poisonTokenId` fails, crashes its worker or hangs it.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultInjection = TestHooks.FaultInjection

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
export type CrashMode = TestHooks.CrashMode

/**
 * The tokenization workers of a model (crash one, list their threads); `undefined` when it has none.
 *
 * @since 0.1.0
 * @category testing
 */
export const tokenizerPool = (model: EmbeddingModel["Service"]): TokenizerPool | undefined =>
  TestHooks.tokenizerPool(model)

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
  const pool = TestHooks.workerHooks(model)
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
  TestHooks.workerHooks(model)?.threadIds()

/**
 * Workers restarted so far; `undefined` for a model without workers.
 *
 * @since 0.1.0
 * @category testing
 */
export const workerRestarts = (model: EmbeddingModel["Service"]): number | undefined =>
  TestHooks.workerHooks(model)?.restarts()

/**
 * Input buffer allocation counters (for the reuse / no-reuse comparison); `undefined` for a
 * model without workers.
 *
 * @since 0.1.0
 * @category testing
 */
export const inputBufferStats = (model: EmbeddingModel["Service"]): InputBufferStats | undefined =>
  TestHooks.workerHooks(model)?.bufferStats()
