/**
 * The inside of a `WorkerPool`: one slot per worker (`starting`, `idle`, `busy`, `dead`), the
 * batches waiting for an idle slot, dispatch and completion, the loss of a worker (crash or run
 * timeout) and its replacement with backoff, and the shutdown.
 *
 * Why batches can wait here although the Batcher never has more than `workers` batches in flight:
 * a slot whose worker died stays `starting` or `dead` until its replacement is ready, so after a
 * crash fewer than `workers` slots are idle; and callers outside the Batcher (the layout
 * calibration, direct `EmbeddingModel` use) are not bounded at all. The waiting list keeps those
 * batches in FIFO order instead of failing them.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, Metric, MutableList, Result } from "effect"
import type { Worker } from "node:worker_threads"
import type { Encoded } from "../EmbeddingModel.js"
import { InferenceFailed, type ModelLoadError } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import * as InputBuffers from "./InputBuffers.js"
import * as SessionPlan from "./SessionPlan.js"
import * as WorkerHandle from "./WorkerHandle.js"
import type { BatchOutput, WorkerPoolOptions } from "./WorkerPool.js"
import type { FromWorker, RunFault, WorkerPlan } from "./WorkerProtocol.js"

/** Backoff between failed restarts of a worker. */
const RESTART_BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000]

/**
 * One batch, from `run` to its result.
 *
 * @since 0.1.0
 * @category models
 */
export interface Job {
  readonly id: number
  readonly batch: ReadonlyArray<Encoded>
  readonly deferred: Deferred.Deferred<BatchOutput, InferenceFailed>
  readonly tokens: boolean
  cancelled: boolean
  packed: InputBuffers.PackedBatch | undefined
}

/**
 * One worker's place in the pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Slot {
  readonly index: number
  state: "starting" | "idle" | "busy" | "dead"
  worker: Worker | undefined
  threadId: number | undefined
  job: Job | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  crashNextRun: boolean
  /** Message of the last `error` event of the current worker. */
  lastError: string | undefined
}

/**
 * A ping waiting for its pong.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ping {
  readonly slot: number
  readonly deferred: Deferred.Deferred<void, InferenceFailed>
}

/**
 * The pool's state before its first worker has started (what the shutdown needs).
 *
 * @since 0.1.0
 * @category models
 */
export interface Slots {
  readonly options: WorkerPoolOptions
  readonly slots: Array<Slot>
  /** Batches waiting for an idle slot, oldest first. */
  readonly waiting: MutableList.MutableList<Job>
  readonly pings: Map<number, Ping>
  /** Workers being ended (replaced, timed out, or started while closing). */
  readonly retiring: Set<Promise<unknown>>
  closing: boolean
  restarts: number
  /** Why the last restart failed, while no worker could be started. */
  spawnFailure: string | undefined
}

/**
 * The running pool: the slots and what the first worker decided.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pool extends Slots {
  readonly plan: WorkerPlan
  readonly dimension: number
  readonly settings: SessionPlan.PlanSettings
  readonly bufferPool: InputBuffers.InputBufferPool
  /** Runs a restart in the background (interrupted when the pool's scope closes). */
  readonly fork: (effect: Effect.Effect<void>) => void
}

/**
 * Empty slots for `options.workers` workers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSlots = (options: WorkerPoolOptions): Slots => ({
  options,
  slots: Array.from({ length: options.workers }, (_, index) => ({
    index,
    state: "starting",
    worker: undefined,
    threadId: undefined,
    job: undefined,
    timer: undefined,
    crashNextRun: false,
    lastError: undefined
  })),
  waiting: MutableList.make<Job>(),
  pings: new Map(),
  retiring: new Set(),
  closing: false,
  restarts: 0,
  spawnFailure: undefined
})

const failure = (reason: string, worker?: number) =>
  Exit.fail(new InferenceFailed({ reason, ...(worker === undefined ? {} : { worker }) }))

const failJob = (job: Job, reason: string, worker?: number) =>
  Deferred.doneUnsafe(job.deferred, failure(reason, worker))

/** Ends a worker in the background; the shutdown waits for it. */
const retire = (pool: Slots, ended: Promise<unknown>) => {
  pool.retiring.add(ended)
  void ended.finally(() => pool.retiring.delete(ended))
}

/**
 * Closes the pool: fails waiting batches, pings and running batches ("the model was shut down"),
 * and resolves when every worker thread has ended.
 *
 * @since 0.1.0
 * @category destructors
 */
export const shutdown = (pool: Slots): Promise<unknown> => {
  pool.closing = true
  const shutDown = (worker?: number) => failure("the model was shut down", worker)
  for (let job = MutableList.take(pool.waiting); job !== MutableList.Empty; job = MutableList.take(pool.waiting)) {
    Deferred.doneUnsafe(job.deferred, shutDown())
  }
  for (const ping of pool.pings.values()) {
    Deferred.doneUnsafe(ping.deferred, shutDown(ping.slot))
  }
  pool.pings.clear()
  const ended: Array<Promise<unknown>> = [...pool.retiring]
  for (const slot of pool.slots) {
    clearTimeout(slot.timer)
    const worker = slot.worker
    if (slot.job !== undefined) Deferred.doneUnsafe(slot.job.deferred, shutDown(slot.index))
    // A busy worker (its batch has just failed) is closed like an idle one: it ends once its
    // run returns. Terminating it during a native run aborts the whole process when the run
    // returns into a terminated thread (onnxruntime-node throws a Napi::Error there).
    if (worker !== undefined) ended.push(WorkerHandle.close(worker))
    slot.job = undefined
    slot.worker = undefined
    slot.threadId = undefined
    slot.state = "dead"
  }
  return Promise.all(ended)
}

/**
 * Whether no slot has a worker or one starting.
 *
 * @since 0.1.0
 * @category getters
 */
export const allDead = (pool: Slots): boolean => pool.slots.every((slot) => slot.state === "dead")

/**
 * The first idle slot, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const idleSlot = (pool: Slots): Slot | undefined => pool.slots.find((slot) => slot.state === "idle")

const faultFor = (pool: Pool, slot: Slot, job: Job): RunFault | undefined => {
  if (slot.crashNextRun) {
    slot.crashNextRun = false
    return "crash"
  }
  const faults = pool.options.faults
  return faults !== undefined && InputBuffers.containsToken(job.batch, faults.poisonTokenId) ? faults.action : undefined
}

/**
 * Packs a batch and sends it to an idle slot's worker; arms the run timeout.
 *
 * @since 0.1.0
 * @category internal
 */
export const dispatch = (pool: Pool, slot: Slot, job: Job): void => {
  const worker = slot.worker!
  const packed = InputBuffers.pack(pool.bufferPool, job.batch, pool.options.padId)
  job.packed = packed
  const fault = faultFor(pool, slot, job)
  slot.state = "busy"
  slot.job = job
  try {
    WorkerHandle.postRun(worker, { id: job.id, packed, fault, tokens: job.tokens })
  } catch (cause) {
    slot.state = "idle"
    slot.job = undefined
    failJob(job, `cannot send the batch to worker ${slot.index}: ${String(cause)}`, slot.index)
    return
  }
  const timeoutMs = pool.options.runTimeoutMs
  if (timeoutMs !== undefined) {
    slot.timer = setTimeout(() => {
      if (slot.job !== job || slot.worker !== worker) return
      lose(pool, slot, `did not finish the batch within ${timeoutMs} ms and was terminated`)
      // Closed, not terminated at once: a run that is only slow returns into a live thread, which
      // then releases its session and ends (terminating it mid-run aborts the whole process when the
      // run returns: onnxruntime-node throws a Napi::Error into the torn-down thread). A thread that
      // is really stuck cannot read the close and is terminated after the close grace.
      retire(pool, WorkerHandle.close(worker))
    }, timeoutMs)
  }
}

/**
 * Sends waiting batches to idle slots, oldest first; skips cancelled ones.
 *
 * @since 0.1.0
 * @category internal
 */
export const pump = (pool: Pool): void => {
  while (pool.waiting.length > 0) {
    const slot = idleSlot(pool)
    if (slot === undefined) return
    const job = MutableList.take(pool.waiting)
    if (job !== MutableList.Empty && !job.cancelled) dispatch(pool, slot, job)
  }
}

const finishRun = (pool: Pool, slot: Slot, message: Extract<FromWorker, { type: "result" | "run-failed" }>) => {
  const job = slot.job
  if (job === undefined || job.id !== message.id) return
  clearTimeout(slot.timer)
  slot.timer = undefined
  slot.job = undefined
  slot.state = "idle"
  const packed = job.packed!
  pool.bufferPool.release({ ids: message.ids, mask: message.mask, types: message.types, capacity: packed.set.capacity })
  if (message.type === "result") {
    Deferred.doneUnsafe(
      job.deferred,
      Exit.succeed({
        output: message.output,
        dimension: message.dimension,
        seq: packed.seq,
        worker: slot.index,
        runMs: message.runMs,
        tokens: packed.tokens,
        slots: packed.batch * packed.seq,
        allocatedBytes: packed.allocatedBytes
      })
    )
  } else {
    failJob(job, message.reason, slot.index)
  }
  pump(pool)
}

/** The slot's worker is gone (crashed or timed out): fail its batch and pings, and replace it. */
const lose = (pool: Pool, slot: Slot, what: string) => {
  const worker = slot.worker
  if (worker === undefined) return
  WorkerHandle.detach(worker)
  worker.on("error", () => {})
  clearTimeout(slot.timer)
  slot.timer = undefined
  slot.worker = undefined
  slot.threadId = undefined
  slot.state = "dead"
  slot.crashNextRun = false
  const job = slot.job
  slot.job = undefined
  if (job !== undefined) {
    failJob(job, `worker ${slot.index} ${what} while running this batch; it is being replaced`, slot.index)
  }
  for (const [id, ping] of pool.pings) {
    if (ping.slot !== slot.index) continue
    pool.pings.delete(id)
    Deferred.doneUnsafe(ping.deferred, failure(`worker ${slot.index} ${what}`, slot.index))
  }
  if (!pool.closing) pool.fork(restart(pool, slot))
}

/**
 * Puts a started worker in its slot (or closes it if the pool is closing) and sends it the oldest
 * waiting batch.
 *
 * @since 0.1.0
 * @category internal
 */
export const attach = (pool: Pool, slot: Slot, started: WorkerHandle.Started): void => {
  const worker = started.worker
  if (pool.closing) {
    pool.retiring.add(WorkerHandle.close(worker))
    return
  }
  slot.worker = worker
  slot.threadId = worker.threadId
  slot.state = "idle"
  slot.lastError = undefined
  pool.spawnFailure = undefined
  WorkerHandle.listen(worker, {
    onRun: (message) => {
      if (slot.worker === worker) finishRun(pool, slot, message)
    },
    onPong: (id) => {
      if (slot.worker !== worker) return
      const ping = pool.pings.get(id)
      if (ping === undefined) return
      pool.pings.delete(id)
      Deferred.doneUnsafe(ping.deferred, Exit.void)
    },
    onError: (message) => {
      if (slot.worker === worker) slot.lastError = message
    },
    onExit: (code) => {
      if (slot.worker !== worker) return
      lose(
        pool,
        slot,
        slot.lastError === undefined ? `exited with code ${code}` : `crashed (uncaught exception: ${slot.lastError})`
      )
    }
  })
  pump(pool)
}

/**
 * Starts a worker for a slot whose plan must match the first worker's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startLike = (pool: Pool, slot: Slot): Effect.Effect<WorkerHandle.Started, ModelLoadError> =>
  WorkerHandle.start(
    pool.options,
    slot.index,
    (loaded) => SessionPlan.recheckPlan(loaded, pool.settings, pool.plan)
  )

/** Replaces a lost worker, retrying with backoff; fails waiting batches while no worker is left. */
const restart = (pool: Pool, slot: Slot): Effect.Effect<void> =>
  Effect.gen(function*() {
    pool.restarts++
    yield* Metric.update(ModelMetrics.workerRestarts, 1)
    for (let attempt = 0;; attempt++) {
      slot.state = "starting"
      const started = yield* Effect.result(startLike(pool, slot))
      if (Result.isSuccess(started)) {
        if (started.success.dimension !== pool.dimension) {
          pool.retiring.add(WorkerHandle.close(started.success.worker))
          pool.spawnFailure = `the restarted worker produces ${started.success.dimension}-dimensional embeddings, ` +
            `not ${pool.dimension}`
        } else {
          return attach(pool, slot, started.success)
        }
      } else {
        pool.spawnFailure = started.failure.reason
      }
      slot.state = "dead"
      if (allDead(pool)) {
        failWaiting(
          pool,
          `no inference worker is running: restarting worker ${slot.index} failed: ${pool.spawnFailure}`
        )
      }
      yield* Effect.sleep(RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!)
    }
  })

const failWaiting = (pool: Slots, reason: string) => {
  for (let job = MutableList.take(pool.waiting); job !== MutableList.Empty; job = MutableList.take(pool.waiting)) {
    if (!job.cancelled) failJob(job, reason)
  }
}
