/**
 * The feed of large requests: a `submitAll` of more inputs than the feed window is admitted whole
 * and its inputs enter the queue a window at a time, as room frees.
 *
 * @since 0.1.0
 * @internal
 */
import { Exit, Queue } from "effect"
import * as BatchError from "../BatchError.js"
import type { Engine } from "./Engine.js"
import { type Feed, Job, QUEUED, TIMED } from "./Job.js"
import { finishGroup, withdraw } from "./Settle.js"

/**
 * Moves the inputs of large requests into the queue, oldest request first: each keeps at most
 * a feed window of inputs queued, within the queue's capacity. Called at submission, when a
 * batch completes (just before its worker takes the next batch, so the requests that arrived
 * while it ran are queued ahead of the new inputs and share that batch), and on sweeps while a
 * worker is idle. Ends a request that can no longer complete (its deadline passed, or intake
 * closed) and forgets those that have their answer.
 *
 * @internal
 */
export const feed = <I, O, E, R>(e: Engine<I, O, E, R>, now: number): void => {
  const kept: Array<Feed<I, O, E>> = []
  for (const entry of e.feeds) if (!feedOne(e, entry, now)) kept.push(entry)
  e.feeds = kept
}

/** Feeds one request; `true` once it needs no more feeding. */
const feedOne = <I, O, E, R>(e: Engine<I, O, E, R>, entry: Feed<I, O, E>, now: number): boolean => {
  const group = entry.group
  const n = entry.inputs.length
  if (group.exit === undefined && (!e.accepting || now >= entry.deadline)) {
    finishGroup(
      group,
      Exit.fail(
        e.accepting
          ? new BatchError.DeadlineExceeded({ waitedMs: now - entry.submittedAt, timeoutMs: entry.timeoutMs })
          : new BatchError.ShuttingDown({ reason: "intake-closed" })
      )
    )
    withdraw(e, group, now)
    e.outcomes[e.accepting ? "expired" : "shutdown"] += n - entry.next
    return true
  }
  if (group.exit !== undefined) {
    e.outcomes.cancelled += n - entry.next // the request failed or was cancelled: the rest never enters
    return true
  }
  const jobs = group.jobs
  while (entry.low < entry.next && jobs[entry.low]!.state !== QUEUED) entry.low++
  let queued = 0
  for (let i = entry.low; i < entry.next; i++) if (jobs[i]!.state === QUEUED) queued++
  const window = e.feedWindow()
  const capacity = e.services.queuePolicy.capacity()
  const custom = entry.timeoutMs < e.settings.defaultTimeoutMs
  while (entry.next < n && queued < window && e.pending < capacity) {
    const i = entry.next
    const job = new Job<I, O, E>(entry.inputs[i]!, entry.costs[i]!, now, entry.deadline, entry.timeoutMs, custom, TIMED)
    if (!Queue.offerUnsafe(e.queue, job)) break
    job.group = group
    job.index = i
    jobs[i] = job
    e.admitted(job)
    // fed when a batch completes, like a caller answered by it: no fresh arrival
    e.rates.arrive(1, now)
    entry.next++
    queued++
  }
  return entry.next === n
}
