/**
 * A pool of tokenization workers (`worker_threads` running `tokenizerWorker.mjs`, each with its own
 * copy of the model's tokenizer), scoped: the threads end when the scope closes.
 *
 * It takes the texts that would hold the event loop too long (see `ModelTokenizer.tokenize`), as
 * TEI runs its tokenization in a pool of workers. Each job (the left-over texts of one call) goes
 * to an idle worker; when all are busy, jobs wait in FIFO order, and a job whose caller has gone
 * (interrupted) is dropped before it starts. A worker that dies fails only the job it was running,
 * with `TokenizerWorkerFailed`, and is replaced in the background
 * (`adabatch_model_tokenizer_worker_restarts_total`).
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, FiberSet, Metric, Result, type Scope } from "effect"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { ModelLoadError, TokenizerWorkerFailed } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import type { ModelTokenizer } from "./ModelTokenizer.js"
import type {
  FromTokenizerWorker,
  TextOutcome,
  TokenizerSource,
  TokenizerWorkerData,
  ToTokenizerWorker
} from "./TokenizerProtocol.js"

const WORKER_URL = new URL("./tokenizerWorker.mjs", import.meta.url)

/** Backoff between failed restarts of a worker. */
const RESTART_BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000]

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenizerPoolOptions {
  /** The tokenizer every worker builds. */
  readonly source: TokenizerSource
  /** Worker threads (at least 1). */
  readonly workers: number
  /** Names the model in load errors. */
  readonly path: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenizerPool {
  readonly workers: number
  /**
   * Tokenizes `texts` in one worker, in order, up to the first refusal, with the limit of
   * `maxLength` tokens: one outcome per text tokenized (fewer than `texts` when one is too long or
   * rejected).
   */
  readonly encode: (
    texts: ReadonlyArray<string>,
    maxLength: number,
    truncate: boolean
  ) => Effect.Effect<ReadonlyArray<TextOutcome>, TokenizerWorkerFailed>
  /**
   * Test hook: makes worker `worker` throw an uncaught exception when it reads this message, so
   * the job sent to it next fails with `TokenizerWorkerFailed` and the worker is replaced.
   */
  readonly crash: (worker: number) => Effect.Effect<void>
  /** Thread ids of the live workers, by slot (`undefined` while a slot has no worker). */
  readonly threadIds: () => ReadonlyArray<number | undefined>
}

interface Job {
  readonly id: number
  readonly texts: ReadonlyArray<string>
  readonly maxLength: number
  readonly truncate: boolean
  readonly deferred: Deferred.Deferred<ReadonlyArray<TextOutcome>, TokenizerWorkerFailed>
  cancelled: boolean
}

interface Slot {
  readonly index: number
  worker: Worker | undefined
  job: Job | undefined
  /** Message of the last `error` event of the current worker. */
  lastError: string | undefined
}

const quiet = (worker: Worker) => {
  worker.removeAllListeners("message")
  worker.removeAllListeners("error")
  worker.removeAllListeners("exit")
  worker.on("error", () => {})
}

/** Starts one worker and waits until its tokenizer is built; the worker is terminated on failure or interruption. */
const startWorker = (options: TokenizerPoolOptions): Effect.Effect<Worker, ModelLoadError> =>
  Effect.callback<Worker, ModelLoadError>((resume) => {
    const workerData: TokenizerWorkerData = { source: options.source }
    const worker = new Worker(WORKER_URL, { workerData })
    let settled = false
    const fail = (reason: string) => {
      if (settled) return
      settled = true
      quiet(worker)
      void worker.terminate().finally(() => resume(Effect.fail(new ModelLoadError({ path: options.path, reason }))))
    }
    worker.on("message", (message: FromTokenizerWorker) => {
      if (message.type === "load-failed") return fail(`a tokenization worker cannot build it: ${message.reason}`)
      if (message.type !== "ready" || settled) return
      settled = true
      quiet(worker)
      resume(Effect.succeed(worker))
    })
    worker.on("error", (error) => fail(`a tokenization worker failed while starting: ${error.message}`))
    worker.on("exit", (code) => fail(`a tokenization worker exited with code ${code} while starting`))
    return Effect.promise(async () => {
      if (settled) return
      settled = true
      quiet(worker)
      await worker.terminate()
    })
  })

/** The pool's state before its workers have started (what the shutdown needs). */
interface Slots {
  readonly options: TokenizerPoolOptions
  readonly slots: Array<Slot>
  /** Jobs waiting for an idle worker, oldest first. */
  readonly queue: Array<Job>
  closing: boolean
  /** Why the last restart failed, while no worker could be started. */
  spawnFailure: string | undefined
}

/** The running pool. */
interface Pool extends Slots {
  /** Runs a restart in the background (interrupted when the pool's scope closes). */
  readonly fork: (effect: Effect.Effect<void>) => void
}

const failJob = (job: Job, reason: string, worker?: number) =>
  Deferred.doneUnsafe(
    job.deferred,
    Exit.fail(new TokenizerWorkerFailed({ reason, ...(worker === undefined ? {} : { worker }) }))
  )

const noWorker = (pool: Slots) => pool.slots.every((s) => s.worker === undefined)

/** Fails the jobs not yet answered and ends every worker thread. */
const shutdown = (pool: Slots): Promise<unknown> => {
  pool.closing = true
  for (const job of pool.queue.splice(0)) failJob(job, "the model was shut down")
  const ended: Array<Promise<number>> = []
  for (const slot of pool.slots) {
    if (slot.job !== undefined) failJob(slot.job, "the model was shut down", slot.index)
    slot.job = undefined
    if (slot.worker !== undefined) {
      quiet(slot.worker)
      ended.push(slot.worker.terminate())
    }
    slot.worker = undefined
  }
  return Promise.all(ended)
}

const dispatch = (slot: Slot, job: Job) => {
  slot.job = job
  const message: ToTokenizerWorker = {
    type: "encode",
    id: job.id,
    texts: job.texts,
    maxLength: job.maxLength,
    truncate: job.truncate
  }
  try {
    slot.worker!.postMessage(message)
  } catch (cause) {
    slot.job = undefined
    failJob(job, `cannot send the texts to tokenizer worker ${slot.index}: ${String(cause)}`, slot.index)
  }
}

/** Sends waiting jobs to idle workers, oldest first; drops cancelled ones. */
const pump = (pool: Slots) => {
  for (const slot of pool.slots) {
    if (slot.worker === undefined || slot.job !== undefined) continue
    let job = pool.queue.shift()
    while (job !== undefined && job.cancelled) job = pool.queue.shift()
    if (job === undefined) return
    dispatch(slot, job)
  }
}

/** The slot's worker is gone: fail its job and replace it. */
const lose = (pool: Pool, slot: Slot, what: string) => {
  if (slot.worker !== undefined) quiet(slot.worker)
  slot.worker = undefined
  const job = slot.job
  slot.job = undefined
  if (job !== undefined) {
    failJob(job, `tokenizer worker ${slot.index} ${what} while tokenizing these texts`, slot.index)
  }
  if (!pool.closing) pool.fork(restart(pool, slot))
}

/** Puts a started worker in its slot (or ends it if the pool is closing) and gives it work. */
const attach = (pool: Pool, slot: Slot, worker: Worker) => {
  if (pool.closing) {
    void worker.terminate()
    return
  }
  slot.worker = worker
  slot.lastError = undefined
  pool.spawnFailure = undefined
  worker.on("message", (message: FromTokenizerWorker) => {
    if (message.type !== "encoded" || slot.worker !== worker) return
    const job = slot.job
    if (job === undefined || job.id !== message.id) return
    slot.job = undefined
    Deferred.doneUnsafe(job.deferred, Exit.succeed(message.outcomes))
    pump(pool)
  })
  worker.on("error", (error) => {
    if (slot.worker === worker) slot.lastError = error.message
  })
  worker.on("exit", (code) => {
    if (slot.worker !== worker) return
    lose(pool, slot, slot.lastError === undefined ? `exited with code ${code}` : `crashed (${slot.lastError})`)
  })
  pump(pool)
}

/** Replaces a lost worker, retrying with backoff; fails waiting jobs while no worker is left. */
const restart = (pool: Pool, slot: Slot): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* Metric.update(ModelMetrics.tokenizerWorkerRestarts, 1)
    for (let attempt = 0;; attempt++) {
      const started = yield* Effect.result(startWorker(pool.options))
      if (Result.isSuccess(started)) return attach(pool, slot, started.success)
      pool.spawnFailure = started.failure.reason
      if (noWorker(pool)) {
        for (const job of pool.queue.splice(0)) failJob(job, `no tokenizer worker is running: ${pool.spawnFailure}`)
      }
      yield* Effect.sleep(RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!)
    }
  })

/** Queues a job, gives it to an idle worker if there is one, and waits for its outcomes. */
const encodeOn = (pool: Pool) => {
  let nextJobId = 0
  return (
    texts: ReadonlyArray<string>,
    maxLength: number,
    truncate: boolean
  ): Effect.Effect<ReadonlyArray<TextOutcome>, TokenizerWorkerFailed> =>
    Effect.suspend(() => {
      if (pool.closing) return Effect.fail(new TokenizerWorkerFailed({ reason: "the model was shut down" }))
      if (pool.spawnFailure !== undefined && noWorker(pool)) {
        return Effect.fail(
          new TokenizerWorkerFailed({ reason: `no tokenizer worker is running: ${pool.spawnFailure}` })
        )
      }
      const job: Job = {
        id: nextJobId++,
        texts,
        maxLength,
        truncate,
        deferred: Deferred.makeUnsafe<ReadonlyArray<TextOutcome>, TokenizerWorkerFailed>(),
        cancelled: false
      }
      pool.queue.push(job)
      pump(pool)
      return Effect.andThen(
        Metric.update(ModelMetrics.tokenizerWorkerTexts, texts.length),
        Deferred.await(job.deferred).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              job.cancelled = true
            })
          )
        )
      )
    })
}

/**
 * Starts `options.workers` workers and returns the pool; fails with `ModelLoadError` when the
 * tokenizer cannot be built in a worker. Closing the scope fails the jobs not yet answered and ends
 * every worker thread.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: TokenizerPoolOptions): Effect.Effect<TokenizerPool, ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      return yield* new ModelLoadError({
        path: options.path,
        reason: `tokenization workers must be a positive integer, got ${options.workers}`
      })
    }
    const slots: Slots = {
      options,
      slots: Array.from(
        { length: options.workers },
        (_, index) => ({ index, worker: undefined, job: undefined, lastError: undefined })
      ),
      queue: [],
      closing: false,
      spawnFailure: undefined
    }
    // Registered before any worker starts, so a failed start-up ends the workers already built.
    yield* Effect.addFinalizer(() => Effect.promise(() => shutdown(slots)))
    // Created after the finalizer above, so restarts in progress are interrupted before it runs.
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    const pool: Pool = Object.assign(slots, { fork: (effect: Effect.Effect<void>) => void runFork(effect) })

    yield* Effect.forEach(
      pool.slots,
      (slot) => Effect.map(startWorker(options), (worker) => attach(pool, slot, worker)),
      { concurrency: "unbounded", discard: true }
    )

    return {
      workers: options.workers,
      encode: encodeOn(pool),
      crash: (index) =>
        Effect.sync(() => {
          const message: ToTokenizerWorker = { type: "crash" }
          pool.slots[index]?.worker?.postMessage(message)
        }),
      threadIds: () => pool.slots.map((slot) => slot.worker?.threadId)
    }
  })

/**
 * The default number of tokenization workers: a quarter of the cores, at least 1 and at most 4
 * (they only take the rare texts too long for the event loop).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWorkers = (): number => Math.max(1, Math.min(4, Math.floor(availableParallelism() / 4)))

/**
 * The tokenization workers of a model: `workers` of them (default {@link defaultWorkers}), none for 0. Fails with
 * `ModelLoadError` for a negative or fractional count, or when the tokenizer cannot be built in a
 * worker; `path` names the model in errors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forTokenizer = (
  path: string,
  tokenizer: ModelTokenizer,
  workers: number | undefined
): Effect.Effect<TokenizerPool | undefined, ModelLoadError, Scope.Scope> => {
  const count = workers ?? defaultWorkers()
  if (!Number.isInteger(count) || count < 0) {
    return Effect.fail(
      new ModelLoadError({ path, reason: `tokenizerWorkers must be a non-negative integer, got ${count}` })
    )
  }
  return count === 0 ? Effect.undefined : make({ source: tokenizer.source, workers: count, path })
}
