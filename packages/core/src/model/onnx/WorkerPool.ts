/**
 * A pool of inference workers (`worker_threads`, one onnxruntime session each), scoped: built
 * workers are closed (session released, thread ended) when the scope closes.
 *
 * Scheduling: each batch goes to an idle worker; when none is idle, batches wait in FIFO order, so
 * at most `workers` batches run at once. A worker that dies (exits, throws outside a run, or
 * exceeds the run timeout) fails only the batch it was running, with `InferenceFailed`, and is
 * replaced in the background (`adabatch_model_worker_restarts_total`). If a replacement cannot
 * start and no worker is left, waiting batches fail instead of hanging, and restarts are retried
 * with backoff.
 *
 * The parts: the session plan (`SessionPlan`), one worker thread (`WorkerHandle`), the slots,
 * waiting batches and restarts (`PoolSlots`), input tensors (`InputBuffers`).
 *
 * @since 0.1.0
 */
import { Deferred, Effect, FiberSet, MutableList, type Scope } from "effect"
import type { Encoded } from "../EmbeddingModel.js"
import { InferenceFailed, type ModelLoadError } from "../ModelError.js"
import type * as TestHooks from "../TestHooks.js"
import * as InputBuffers from "./InputBuffers.js"
import * as PoolSlots from "./PoolSlots.js"
import * as SessionPlan from "./SessionPlan.js"
import * as WorkerHandle from "./WorkerHandle.js"
import type { WorkerPlan, WorkerSessionOptions } from "./WorkerProtocol.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerPoolOptions {
  /** Absolute path of `model.onnx`. */
  readonly modelFile: string
  readonly workers: number
  readonly sessionOptions: WorkerSessionOptions
  readonly pooling: "mean" | "cls"
  readonly normalize: boolean
  readonly padId: number
  readonly probeIds: ReadonlyArray<number>
  /** Embedding dimension the model must produce, if declared. */
  readonly dimension: number | undefined
  /** Reuse int64 input buffers across batches. */
  readonly reuseInputBuffers: boolean
  /** A batch running longer than this fails and its worker is replaced. */
  readonly runTimeoutMs: number | undefined
  readonly faults: TestHooks.FaultInjection | undefined
}

/**
 * The result of one batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchOutput {
  /** `batch * dimension` floats, row-major, in input order (token states: `batch * seq * dimension`). */
  readonly output: Float32Array
  readonly dimension: number
  /** The padded sequence length of the batch. */
  readonly seq: number
  /** Slot index of the worker that ran it. */
  readonly worker: number
  /** Time in `session.run` plus pooling, measured in the worker. */
  readonly runMs: number
  /** Real tokens, and the padded tensor's size (`batch * longest`). */
  readonly tokens: number
  readonly slots: number
  /** Input buffer bytes allocated for this batch (0 when reused). */
  readonly allocatedBytes: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerPool {
  readonly plan: WorkerPlan
  readonly dimension: number
  readonly workers: number
  /**
   * Runs a non-empty batch on the next free worker: its embeddings, or with `tokens` its token
   * states (`plan.tokenOutput` must exist).
   */
  readonly run: (batch: ReadonlyArray<Encoded>, tokens?: boolean) => Effect.Effect<BatchOutput, InferenceFailed>
  /** Succeeds when a live worker answers a ping. */
  readonly ping: Effect.Effect<void, InferenceFailed>
  /**
   * Test hook: makes worker `worker` die. `"exit"` calls `process.exit` in it now, `"throw"`
   * raises an uncaught exception outside any run, `"next-run"` exits when its next batch arrives
   * (that batch fails).
   */
  readonly crash: (worker: number, mode: TestHooks.CrashMode) => Effect.Effect<void>
  /** Thread ids of the live workers, by slot (`undefined` while a slot has no worker). */
  readonly threadIds: () => ReadonlyArray<number | undefined>
  /** Workers restarted so far. */
  readonly restarts: () => number
  readonly bufferStats: () => InputBuffers.InputBufferStats
}

/** Queues a batch (or sends it to an idle worker at once) and waits for its result. */
const runOn = (pool: PoolSlots.Pool) => {
  let nextJobId = 0
  return (batch: ReadonlyArray<Encoded>, tokens = false): Effect.Effect<BatchOutput, InferenceFailed> =>
    Effect.suspend(() => {
      if (pool.closing) return Effect.fail(new InferenceFailed({ reason: "the model was shut down" }))
      if (pool.spawnFailure !== undefined && PoolSlots.allDead(pool)) {
        return Effect.fail(new InferenceFailed({ reason: `no inference worker is running: ${pool.spawnFailure}` }))
      }
      const job: PoolSlots.Job = {
        id: nextJobId++,
        batch,
        deferred: Deferred.makeUnsafe<BatchOutput, InferenceFailed>(),
        tokens,
        cancelled: false,
        packed: undefined
      }
      const slot = pool.waiting.length === 0 ? PoolSlots.idleSlot(pool) : undefined
      if (slot === undefined) MutableList.append(pool.waiting, job)
      else PoolSlots.dispatch(pool, slot, job)
      return Deferred.await(job.deferred).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            job.cancelled = true
          })
        )
      )
    })
}

/** Pings an idle (else a busy) worker. */
const pingOn = (pool: PoolSlots.Pool): Effect.Effect<void, InferenceFailed> => {
  let nextPingId = 0
  return Effect.suspend(() => {
    const slot = PoolSlots.idleSlot(pool) ?? pool.slots.find((s) => s.state === "busy")
    if (slot === undefined) {
      return Effect.fail(
        new InferenceFailed({
          reason: pool.closing
            ? "the model was shut down"
            : `no inference worker is running${
              pool.spawnFailure === undefined ? " (restarting)" : `: ${pool.spawnFailure}`
            }`
        })
      )
    }
    const id = nextPingId++
    const deferred = Deferred.makeUnsafe<void, InferenceFailed>()
    pool.pings.set(id, { slot: slot.index, deferred })
    WorkerHandle.postPing(slot.worker!, id)
    return Deferred.await(deferred).pipe(Effect.ensuring(Effect.sync(() => pool.pings.delete(id))))
  })
}

/** Test hook: see `WorkerPool.crash`. */
const crashOn = (pool: PoolSlots.Pool) => (index: number, mode: TestHooks.CrashMode): Effect.Effect<void> =>
  Effect.sync(() => {
    const slot = pool.slots[index]
    if (slot?.worker === undefined) return
    if (mode === "next-run") {
      slot.crashNextRun = true
      return
    }
    WorkerHandle.postCrash(slot.worker, mode)
  })

/**
 * Starts `options.workers` workers and returns the pool; fails with `ModelLoadError` if the model
 * cannot be loaded. Closing the scope fails queued batches, releases the sessions and waits for
 * every worker thread to end.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: WorkerPoolOptions): Effect.Effect<WorkerPool, ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const slots = PoolSlots.makeSlots(options)
    // Registered before any worker starts, so a failed start-up closes the workers already built.
    yield* Effect.addFinalizer(() => Effect.promise(() => PoolSlots.shutdown(slots)))
    // Created after the finalizer above, so restarts in progress are interrupted before it runs.
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()

    // The first worker decides the plan (it is attached to its slot below, with no yield between).
    const settings: SessionPlan.PlanSettings = {
      pooling: options.pooling,
      normalize: options.normalize,
      probeIds: options.probeIds
    }
    const first = yield* WorkerHandle.start(options, 0, (loaded) => SessionPlan.resolvePlan(loaded, settings))
    const pool: PoolSlots.Pool = Object.assign(slots, {
      plan: first.plan,
      dimension: first.dimension,
      settings,
      bufferPool: InputBuffers.makePool({
        reuse: options.reuseInputBuffers,
        withTypes: first.plan.tokenTypeIds !== undefined,
        maxPerClass: options.workers + 1
      }),
      fork: (effect: Effect.Effect<void>) => void runFork(effect)
    })

    // The other workers load in parallel.
    PoolSlots.attach(pool, pool.slots[0]!, first)
    yield* Effect.forEach(
      pool.slots.slice(1),
      (slot) => Effect.map(PoolSlots.startLike(pool, slot), (started) => PoolSlots.attach(pool, slot, started)),
      { concurrency: "unbounded", discard: true }
    )

    return {
      plan: pool.plan,
      dimension: pool.dimension,
      workers: options.workers,
      run: runOn(pool),
      ping: pingOn(pool),
      crash: crashOn(pool),
      threadIds: () => pool.slots.map((slot) => slot.threadId),
      restarts: () => pool.restarts,
      bufferStats: () => pool.bufferPool.stats()
    }
  })
