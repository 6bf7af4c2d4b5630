/**
 * Batch execution: a formed batch takes a worker, runs the batch function on a pooled input array,
 * answers its requests (re-running a failed batch in halves when isolating failures), and tells
 * the size policy and the metrics how it went.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit } from "effect"
import * as BatchError from "./BatchError.js"
import * as Metrics from "./BatchMetrics.js"
import type { Engine } from "./internal/Engine.js"
import { type Batch, type Job, QUEUED, RUNNING } from "./internal/Job.js"
import { feed } from "./internal/LargeRequests.js"
import { expire, settle } from "./internal/Settle.js"

/** Runs the batch function on a pooled input array; `release` returns the array afterwards. */
const runOnce = <I, O, E, R>(e: Engine<I, O, E, R>, jobs: ReadonlyArray<Job<I, O, E>>) =>
  Effect.suspend(() => {
    const inputs = e.inputPool.pop() ?? []
    for (let i = 0; i < jobs.length; i++) inputs.push(jobs[i]!.input)
    return Effect.map(Effect.exit(e.settings.run(inputs)), (exit) => [exit, inputs] as const)
  })

/** Back to the pool, only once the outputs were handed out (they may be the same array). */
const release = <I, O, E, R>(e: Engine<I, O, E, R>, inputs: Array<I>) => {
  inputs.length = 0
  if (e.inputPool.length < e.settings.workers * 2) e.inputPool.push(inputs)
}

/** Answers a batch's requests from its exit; isolates a failure by halves when asked to. */
const complete = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  jobs: ReadonlyArray<Job<I, O, E>>,
  exit: Exit.Exit<ReadonlyArray<O>, E>
): Effect.Effect<void, never, R> => {
  const now = e.now()
  if (Exit.isSuccess(exit)) {
    const outputs = exit.value
    if (outputs.length !== jobs.length) {
      const error = Exit.fail(new BatchError.BatchShapeMismatch({ inputs: jobs.length, outputs: outputs.length }))
      for (const job of jobs) settle(e, job, error, "failed", now)
      return Effect.void
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!
      // a result that comes after the request's deadline is not an answer within its budget
      if (now > job.deadline) expire(e, job, now)
      else settle(e, job, Exit.succeed(outputs[i]), "ok", now)
    }
    return Effect.void
  }
  if (Cause.hasInterruptsOnly(exit.cause)) return Effect.void // shutdown: the drain fails them
  if (e.settings.isolate && jobs.length > 1) {
    const mid = jobs.length >> 1
    const halves = [jobs.slice(0, mid), jobs.slice(mid)]
    return Effect.forEach(
      halves,
      (half) =>
        Effect.flatMap(
          runOnce(e, half),
          ([x, inputs]) => Effect.ensuring(complete(e, half, x), Effect.sync(() => release(e, inputs)))
        ),
      { discard: true }
    )
  }
  for (const job of jobs) settle(e, job, exit, "failed", now)
  return Effect.void
}

/** A thunk recording a dispatched batch in the metrics. */
const recordDispatch = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  batch: Batch<I, O, E>,
  jobs: ReadonlyArray<Job<I, O, E>>,
  start: number,
  depth: number,
  waitMs: number
) =>
() => {
  e.update(Metrics.batchesInFlight, e.busy)
  for (let i = 0; i < jobs.length; i++) e.queueWaitRecorder.record(start - jobs[i]!.enqueuedAt, start)
  e.update(Metrics.batchSize, jobs.length)
  e.update(Metrics.batchCost, batch.cost)
  e.update(Metrics.batches, 1)
  e.update(Metrics.batchEfficiency, jobs.length / batch.limits.maxBatchSize)
  e.update(Metrics.policyMaxBatchSize, batch.limits.maxBatchSize)
  e.update(Metrics.policyMaxBatchCost, Number.isFinite(batch.limits.maxBatchCost) ? batch.limits.maxBatchCost : 0)
  e.update(Metrics.policyWait, waitMs)
  e.update(Metrics.queueDepth, depth)
  e.update(Metrics.queueUtilisation, depth / e.services.queuePolicy.capacity())
  e.update(Metrics.arrivalRate, e.rates.ratePerMs * 1000)
}

/**
 * The jobs of a batch still to compute at `start`: those cancelled or expired since it formed are
 * dropped (never computed).
 */
const stillQueued = <I, O, E, R>(e: Engine<I, O, E, R>, batch: Batch<I, O, E>, start: number) => {
  let jobs = batch.jobs
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    if (job.state === QUEUED && start >= job.deadline) expire(e, job, start)
    if (job.state !== QUEUED) {
      jobs = jobs.filter((j) => j.state === QUEUED)
      break
    }
  }
  return jobs
}

/** Takes a worker for `jobs` at `start`; returns how long the worker stood idle before (ms). */
const dispatch = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  batch: Batch<I, O, E>,
  jobs: ReadonlyArray<Job<I, O, E>>,
  start: number
): number => {
  e.rates.dispatched(jobs.length, batch.capped, start)
  const freedAt = e.freeSince.shift()
  let oldest = start
  for (let i = 0; i < jobs.length; i++) if (jobs[i]!.enqueuedAt < oldest) oldest = jobs[i]!.enqueuedAt
  const idleMs = freedAt !== undefined && start > freedAt ? start - Math.max(freedAt, oldest) : 0
  e.runningSince.push(start)
  e.runningItems += jobs.length
  e.busy++
  if (batch.fast === true) e.fastBusy++
  e.syncGate()
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    if (job.state === QUEUED) e.pending--
    job.state = RUNNING
    job.dispatchedAt = start
    job.batchSize = jobs.length
  }
  // The dispatch metrics are recorded once the batch is on its way (a microtask runs when this
  // turn's synchronous dispatch is done), off the path of its requests.
  queueMicrotask(recordDispatch(e, batch, jobs, start, e.pending, e.lastWaitMs))
  return idleMs
}

/** Frees the worker of a batch of `n` inputs that started at `start`. */
const done = <I, O, E, R>(e: Engine<I, O, E, R>, batch: Batch<I, O, E>, n: number, start: number) => {
  e.busy--
  if (batch.fast === true) e.fastBusy--
  e.runningItems -= n
  e.runningSince.splice(e.runningSince.indexOf(start), 1)
  const now = e.now()
  e.rates.lastCompletionAt = now
  e.freeSince.push(now)
  if (e.busy === 0 && e.pending === 0) e.idleSince = now
  e.syncGate()
  e.update(Metrics.batchesInFlight, e.busy)
  // large requests top up now, behind what arrived while the batch ran (see `feed`)
  if (e.feeds.length > 0) feed(e, e.now())
  e.flushOutcomes()
  e.live.trim()
}

/**
 * Runs a formed batch on a worker: waits for one if the idle fast path holds them all, drops what
 * was cancelled or expired, computes, answers, then lets the size policy observe the batch.
 *
 * @since 0.1.0
 * @category internals
 */
export const runBatch = <I, O, E, R>(e: Engine<I, O, E, R>, batch: Batch<I, O, E>): Effect.Effect<void, never, R> =>
  Effect.suspend(() => {
    // Only with the idle fast path can every worker be taken when a batch is ready: it waits
    // (and counts as formed, not running, meanwhile).
    if (batch.jobs.length > 0 && e.busy >= e.settings.workers) {
      return Effect.andThen(e.slots.await, runBatch(e, batch))
    }
    e.formed--
    e.formedItems -= batch.jobs.length
    if (batch.jobs.length === 0) return Effect.void
    const start = e.now()
    const jobs = stillQueued(e, batch, start)
    if (jobs.length === 0) {
      e.flushOutcomes()
      return Effect.void
    }
    const idleMs = dispatch(e, batch, jobs, start)
    return Effect.flatMap(runOnce(e, jobs), ([exit, inputs]) => {
      const durationMs = e.now() - start
      for (let i = 0; i < jobs.length; i++) jobs[i]!.batchMs = durationMs
      e.rates.ran(durationMs)
      const observe = Exit.isSuccess(exit)
        ? e.services.sizePolicy.observe({
          size: jobs.length,
          cost: batch.cost,
          work: e.settings.costOf === undefined ? jobs.length : batch.work,
          durationMs,
          capped: batch.capped,
          othersBusy: batch.othersBusy,
          limits: batch.limits,
          idleMs
        })
        : Effect.void
      // answer first; the policy and the metrics learn from the batch after
      return complete(e, jobs, exit).pipe(
        Effect.andThen(observe),
        Effect.andThen(Effect.sync(() => e.update(Metrics.batchDuration, durationMs))),
        Effect.ensuring(Effect.sync(() => release(e, inputs)))
      )
    }).pipe(Effect.ensuring(Effect.sync(() => done(e, batch, jobs.length, start))))
  })
