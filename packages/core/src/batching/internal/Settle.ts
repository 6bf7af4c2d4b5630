/**
 * Settling requests: a job's answer (output, failure, expiry, cancellation), a `submitAll`
 * group's completion, and the callbacks that suspend callers until then.
 *
 * @since 0.1.0
 * @internal
 */
import { Effect, Exit } from "effect"
import type { Timed } from "../Batcher.js"
import * as BatchError from "../BatchError.js"
import type * as Metrics from "../BatchMetrics.js"
import type { Engine } from "./Engine.js"
import { DONE, type Group, type Job, LIST, PLAIN, QUEUED } from "./Job.js"

const timedOf = <I, O, E>(job: Job<I, O, E>, value: O): Timed<O> => ({
  value,
  queueMs: job.dispatchedAt - job.enqueuedAt,
  batchMs: job.batchMs,
  batchSize: job.batchSize
})

/**
 * Ends a job with `exit` (an output on success), counting `outcome`; no-op once done.
 *
 * @internal
 */
export const settle = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  job: Job<I, O, E>,
  exit: Exit.Exit<unknown, unknown>,
  outcome: Metrics.Outcome,
  now: number
): void => {
  if (job.state === DONE) return
  if (job.state === QUEUED) e.pending--
  job.state = DONE
  if (job.custom) e.liveCustom--
  e.outcomes[outcome]++
  if (outcome === "ok") e.latencyRecorder.record(now - job.enqueuedAt, now)
  if (job.group !== undefined) return settleMember(e, job.group, job, exit, now)
  let result: Exit.Exit<unknown, unknown> = exit
  if (job.shape !== PLAIN && Exit.isSuccess(exit)) {
    const timed = timedOf(job, exit.value as O)
    result = Exit.succeed(job.shape === LIST ? [timed] : timed)
  }
  const resume = job.resume
  if (resume !== undefined) {
    job.resume = undefined
    resume(result)
  } else {
    job.exit = result
  }
}

/**
 * Completes a group with `exit` and resumes its caller.
 *
 * @internal
 */
export const finishGroup = <I, O, E>(group: Group<I, O, E>, exit: Exit.Exit<unknown, unknown>): void => {
  group.exit = exit
  const resume = group.resume
  if (resume !== undefined) {
    group.resume = undefined
    resume(exit)
  }
}

const settleMember = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  group: Group<I, O, E>,
  job: Job<I, O, E>,
  exit: Exit.Exit<unknown, unknown>,
  now: number
) => {
  if (group.exit !== undefined) return
  if (Exit.isSuccess(exit)) {
    group.results[job.index] = timedOf(job, exit.value as O)
    if (--group.remaining === 0) finishGroup(group, Exit.succeed(group.results))
    return
  }
  finishGroup(group, exit)
  withdraw(e, group, now)
}

/**
 * Withdraws a group's members that are still queued (they will never be computed).
 *
 * @internal
 */
export const withdraw = <I, O, E, R>(e: Engine<I, O, E, R>, group: Group<I, O, E>, now: number): void => {
  for (const member of group.jobs) {
    // a large request's inputs not yet fed are holes
    if (member !== undefined && member.state === QUEUED) settle(e, member, Exit.void, "cancelled", now)
  }
}

/**
 * Fails a job whose deadline passed.
 *
 * @internal
 */
export const expire = <I, O, E, R>(e: Engine<I, O, E, R>, job: Job<I, O, E>, now: number): void =>
  settle(
    e,
    job,
    Exit.fail(new BatchError.DeadlineExceeded({ waitedMs: now - job.enqueuedAt, timeoutMs: job.timeoutMs })),
    "expired",
    now
  )

/**
 * Withdraws a job its caller no longer waits for (computed anyway if it already runs).
 *
 * @internal
 */
export const cancel = <I, O, E, R>(e: Engine<I, O, E, R>, job: Job<I, O, E>): void => {
  job.resume = undefined
  if (job.state === QUEUED) {
    settle(e, job, Exit.void, "cancelled", e.now())
    e.flushOutcomes()
  }
}

/**
 * Suspends the caller until its job is settled; interrupting it cancels the job.
 *
 * @internal
 */
export const awaitJob = <I, O, E, R>(e: Engine<I, O, E, R>, job: Job<I, O, E>): Effect.Effect<unknown, unknown> =>
  Effect.callback<unknown, unknown>((resume) => {
    if (job.exit !== undefined) {
      resume(job.exit)
      return
    }
    job.resume = resume
    return Effect.sync(() => cancel(e, job))
  })

/**
 * Suspends the caller until its group completes; interrupting it withdraws the group's queued members.
 *
 * @internal
 */
export const awaitGroup = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  group: Group<I, O, E>
): Effect.Effect<unknown, unknown> =>
  Effect.callback<unknown, unknown>((resume) => {
    if (group.exit !== undefined) {
      resume(group.exit)
      return
    }
    group.resume = resume
    return Effect.sync(() => {
      group.resume = undefined
      if (group.exit === undefined) group.exit = Exit.interrupt()
      withdraw(e, group, e.now())
    })
  })
