/**
 * The idle fast path. A request that finds the engine idle (nothing queued, forming or running)
 * when the wait policy would not wait for it skips the queue and the batch-formation fibers: it is
 * batched with whatever else arrives in the same event-loop turn (up to the caps) and dispatched
 * at the end of that turn, one scheduler hop instead of the stream's several, and no wait timer.
 * Its batches count as formed, then busy, like any other; while they and the stream's batches
 * hold every worker the stream takes nothing from the queue (`gate`), so no more than `workers`
 * batches run at once.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, Queue } from "effect"
import type { BatchLimits } from "../BatchSizePolicy.js"
import { runBatch } from "../Execution.js"
import { fitting, shared } from "../Formation.js"
import type { Engine } from "./Engine.js"
import { type Batch, type Job, QUEUED } from "./Job.js"
import { awaitJob } from "./Settle.js"

/**
 * Takes an admitted-to-be job on the fast path, or returns `undefined` (then it is queued).
 *
 * @internal
 */
export const collectIdle = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  job: Job<I, O, E>,
  now: number
): Effect.Effect<unknown, unknown> | undefined => {
  const padded = e.settings.padded
  const limits = e.lastLimits
  if (e.idleJobs !== undefined) {
    const n = e.idleJobs.length
    const nextMax = job.cost > e.idleMax ? job.cost : e.idleMax
    const nextCost = padded ? nextMax * (n + 1) : e.idleCost + job.cost
    if (n >= limits.maxBatchSize || nextCost > limits.maxBatchCost) return undefined
    e.idleJobs.push(job)
    e.idleMax = nextMax
    e.idleCost = nextCost
    e.formedItems++
    e.admitted(job)
    return awaitJob(e, job)
  }
  if (e.busy !== 0 || e.pending !== 0 || e.fastRunning !== 0) return undefined
  job.idleMs = now - e.idleSince
  e.rates.update(now)
  const waitMs = e.services.waitPolicy.waitMs({
    batchSize: 1,
    queued: 0,
    maxBatchSize: Math.min(limits.maxBatchSize, fitting([job], limits.maxBatchCost, padded)),
    oldestAgeMs: 0,
    idleWorkers: e.settings.workers,
    workers: e.settings.workers,
    nextFreeMs: Infinity, // no batch runs
    arrivalRatePerMs: e.rates.freshPerMs,
    batchDurationMs: e.rates.batchDurationMs,
    idleMs: job.idleMs
  })
  if (waitMs > 0) return undefined
  e.lastWaitMs = 0
  e.idleJobs = [job]
  e.idleMax = job.cost
  e.idleCost = job.cost
  // the collecting batch counts as formed: it holds a worker for the policy's accounting
  e.formed++
  e.formedItems++
  e.admitted(job)
  e.fastRunning = 1
  e.syncGate()
  setImmediate(() => flushIdle(e))
  return awaitJob(e, job)
}

/**
 * Runs the jobs collected in this event-loop turn (those still queued) at once. With several
 * workers they are shared among the free workers as the stream would share them (see `shared`):
 * one batch per free worker at most, each of at most its fair share; what is left goes to the queue.
 */
const flushIdle = <I, O, E, R>(e: Engine<I, O, E, R>) => {
  const collected = e.idleJobs!
  e.idleJobs = undefined
  const fiber = Effect.runForkWith(e.services.runContext)(
    Effect.flatMap(e.services.sizePolicy.current, (limits) => {
      e.lastLimits = limits
      return Effect.forEach(
        fastBatches(e, collected, limits),
        (batch) =>
          runBatch(e, batch).pipe(Effect.ensuring(Effect.sync(() => {
            e.fastRunning--
            e.syncGate()
          }))),
        { concurrency: "unbounded", discard: true }
      )
    })
  )
  if (fiber.pollUnsafe() === undefined) {
    e.fastFibers.add(fiber)
    fiber.addObserver(() => e.fastFibers.delete(fiber))
  }
}

/**
 * The fast batches of `collected` (those still queued): each of at most its fair share, at most
 * one per free worker. They replace the collecting batch in `formed` and `fastRunning`.
 */
const fastBatches = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  collected: ReadonlyArray<Job<I, O, E>>,
  limits: BatchLimits
): ReadonlyArray<Batch<I, O, E>> => {
  const jobs = collected.filter((job) => job.state === QUEUED)
  // the shares are reckoned as for batches opening now, the collecting one not counted
  e.formed--
  e.formedItems -= collected.length
  e.fastRunning--
  const free = Math.max(1, e.freeWorkers())
  const share = Math.min(shared(e, limits).maxBatchSize, limits.maxBatchSize)
  const parts: Array<Array<Job<I, O, E>>> = []
  let i = 0
  for (; i < jobs.length && parts.length < free; i += share) parts.push(jobs.slice(i, i + share))
  if (parts.length === 0) parts.push([])
  // more than the free workers take: the rest waits in the queue (or, if it is full, rides along)
  for (; i < jobs.length; i++) if (!Queue.offerUnsafe(e.queue, jobs[i]!)) parts[parts.length - 1]!.push(jobs[i]!)
  const workers = e.settings.workers
  const batches = parts.map((part, k): Batch<I, O, E> => {
    let cost = 0
    let work = 0
    for (const job of part) {
      work += job.cost
      cost = e.settings.padded ? Math.max(cost, job.cost * part.length) : work
    }
    // as in the stream: every other worker busy (or claimed) when it formed
    const othersBusy = workers > 1 && e.busy + e.formed + k >= workers - 1
    return { jobs: part, cost, work, capped: false, othersBusy, limits, fast: true }
  })
  e.formed += batches.length
  for (const part of parts) e.formedItems += part.length
  e.fastRunning += batches.length
  return batches
}
