/**
 * Batch formation: the stream's batch Sink (caps from the size policy, shared fairly among the
 * free workers), its wait Schedule (the wait policy's decision, taken once per batch), and the
 * selection of a batch by cost when bucketing.
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Exit, Pull, Queue, Schedule, Sink } from "effect"
import type { BatchLimits } from "./BatchSizePolicy.js"
import type { Engine } from "./internal/Engine.js"
import { type Batch, type Job, QUEUED } from "./internal/Job.js"
import { expire } from "./internal/Settle.js"

/** The oldest request still queued: the head of the batch being formed (FIFO). */
const oldestQueued = <I, O, E, R>(e: Engine<I, O, E, R>): Job<I, O, E> | undefined => {
  const items = e.live.items
  for (let i = e.live.head; i < items.length; i++) if (items[i]!.state === QUEUED) return items[i]
  return undefined
}

/**
 * The caps of a batch that opens while other workers are free too: at most an even share of
 * the queued inputs, so that queued work is spread over the free workers instead of one of them
 * taking everything while the others idle (the policy's caps otherwise).
 *
 * @since 0.1.0
 * @category internals
 */
export const shared = <I, O, E, R>(e: Engine<I, O, E, R>, limits: BatchLimits): BatchLimits => {
  const workers = e.settings.workers
  if (workers === 1) return limits
  const free = e.freeWorkers()
  const queued = e.pending - e.formedItems
  // no worker takes more than its share of all the work in the system (queued and running):
  // a closed loop stays balanced instead of one worker running a batch another lacks
  let share = Math.ceil((queued + e.runningItems + e.formedItems) / workers)
  if (free > 1) share = Math.min(share, Math.ceil(queued / free))
  share = Math.max(1, share)
  return share < limits.maxBatchSize ? { maxBatchSize: share, maxBatchCost: limits.maxBatchCost } : limits
}

/**
 * How many inputs like `jobs` the cost budget admits in one batch (the largest one's cost each
 * when padded, their mean otherwise): waiting for more than that would be lost.
 *
 * @since 0.1.0
 * @category internals
 */
export const fitting = (
  jobs: ReadonlyArray<{ readonly cost: number }>,
  budget: number,
  padded: boolean
): number => {
  if (jobs.length === 0 || !Number.isFinite(budget)) return Infinity
  let largest = 0
  let sum = 0
  for (const job of jobs) {
    sum += job.cost
    if (job.cost > largest) largest = job.cost
  }
  const each = padded ? largest : sum / jobs.length
  return each > 0 ? Math.max(jobs.length, Math.floor(budget / each)) : Infinity
}

/** Remaining wait (ms) for the forming batch, from its oldest request; decided once per batch. */
const decide = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  now: number,
  taken: number,
  minDeadline: number,
  fit = Infinity
): number => {
  if (e.formingDelayMs !== undefined) return e.formingDelayMs
  const rates = e.rates
  rates.update(now)
  const limits = e.formingLimits ?? e.lastLimits
  const oldest = oldestQueued(e)
  if (oldest === undefined) return (e.formingDelayMs = 0)
  const waitMs = e.services.waitPolicy.waitMs({
    batchSize: taken,
    queued: Math.max(0, e.pending - taken),
    // what the cost budget admits: the decision may come before the batch's first inputs are
    // taken (then the oldest input's cost stands for theirs)
    maxBatchSize: Math.min(limits.maxBatchSize, fit, fitting([oldest], limits.maxBatchCost, e.settings.padded)),
    oldestAgeMs: now - oldest.enqueuedAt,
    idleWorkers: e.settings.workers - e.busy,
    nextFreeMs: e.runningSince.length === 0 || rates.batchDurationMs === 0
      ? Infinity
      : Math.max(0, e.runningSince[0]! + rates.batchDurationMs - now),
    workers: e.settings.workers,
    arrivalRatePerMs: rates.freshPerMs,
    batchDurationMs: rates.batchDurationMs,
    idleMs: oldest.idleMs
  })
  e.lastWaitMs = waitMs
  const remaining = Math.min(waitMs - (now - oldest.enqueuedAt), Math.min(minDeadline, oldest.deadline) - now)
  return (e.formingDelayMs = remaining > 0 ? remaining : 0)
}

/** One batch being formed by the sink. */
class Forming<I, O, E, R> {
  /** The policy's caps, shared among the free workers. */
  limits: BatchLimits | undefined
  policyLimits: BatchLimits | undefined
  othersBusy = false
  jobs: Array<Job<I, O, E>> = []
  cost = 0
  work = 0
  maxItem = 0
  capped = false
  done = false
  noWait = false
  leftover: Array<Job<I, O, E>> | undefined
  minDeadline = Infinity

  constructor(readonly e: Engine<I, O, E, R>) {}

  take(chunk: ReadonlyArray<Job<I, O, E>>, now: number) {
    const { lookaheadFactor, padded } = this.e.settings
    const limits = this.limits!
    for (let i = 0; i < chunk.length; i++) {
      const job = chunk[i]!
      if (job.state !== QUEUED) continue
      if (now >= job.deadline) {
        expire(this.e, job, now)
        continue
      }
      if (lookaheadFactor > 1) {
        if (this.jobs.length >= limits.maxBatchSize * lookaheadFactor) {
          this.leftover = chunk.slice(i)
          this.done = true
          return
        }
      } else {
        const n = this.jobs.length
        const nextMax = job.cost > this.maxItem ? job.cost : this.maxItem
        const nextCost = padded ? nextMax * (n + 1) : this.cost + job.cost
        if (n >= limits.maxBatchSize || (n > 0 && nextCost > limits.maxBatchCost)) {
          this.leftover = chunk.slice(i)
          this.capped = true
          this.done = true
          return
        }
        this.maxItem = nextMax
        this.cost = nextCost
        this.work += job.cost
      }
      if (job.deadline < this.minDeadline) this.minDeadline = job.deadline
      this.jobs.push(job)
    }
    // full at a cap: the item cap, or no room in the cost budget for one more input like these
    const n = this.jobs.length
    if (
      lookaheadFactor === 1 &&
      (n >= limits.maxBatchSize ||
        (n > 0 && (padded ? this.maxItem * (n + 1) : this.cost + this.maxItem) > limits.maxBatchCost))
    ) {
      this.capped = true
      this.done = true
    }
  }

  open(chunk: ReadonlyArray<Job<I, O, E>>) {
    const e = this.e
    return Effect.map(e.services.sizePolicy.current, (l) => {
      this.limits = shared(e, l)
      this.policyLimits = l
      this.othersBusy = e.settings.workers > 1 && e.busy + e.formed >= e.settings.workers - 1
      e.lastLimits = l
      e.formingLimits = l
      const now = e.now()
      this.take(chunk, now)
      const delay = decide(
        e,
        now,
        this.jobs.length,
        this.minDeadline,
        fitting(this.jobs, l.maxBatchCost, e.settings.padded)
      )
      this.noWait = this.done || !(delay > 0)
    })
  }

  step(chunk: ReadonlyArray<Job<I, O, E>>) {
    const e = this.e
    if (this.limits !== undefined && this.jobs.length > 0 && e.freeWorkers() > 1) {
      // another worker is free now: what arrives from here on is its to take
      this.leftover = chunk.slice()
      this.done = true
      return Cause.done()
    }
    const effect = this.limits === undefined
      ? this.open(chunk)
      : Effect.sync(() => this.take(chunk, e.now()))
    return Effect.flatMap(effect, () => {
      if (!this.done && this.noWait && Queue.sizeUnsafe(e.queue) === 0) this.done = true
      return this.done ? Cause.done() : Effect.void
    })
  }

  /** Drops what was cancelled or expired while the batch waited to fill. */
  prune(now: number) {
    let removed = false
    for (let i = 0; i < this.jobs.length; i++) {
      const job = this.jobs[i]!
      if (job.state !== QUEUED) removed = true
      else if (now >= job.deadline) {
        expire(this.e, job, now)
        removed = true
      }
    }
    if (!removed) return
    this.jobs = this.jobs.filter((job) => job.state === QUEUED)
    this.maxItem = 0
    this.work = 0
    for (const job of this.jobs) {
      this.work += job.cost
      if (job.cost > this.maxItem) this.maxItem = job.cost
    }
    this.cost = this.e.settings.padded ? this.maxItem * this.jobs.length : this.work
  }

  finish() {
    const e = this.e
    const now = e.now()
    // A batch closed by its wait (or at once) takes what is queued now, up to its caps: the
    // flush may come a moment after inputs were queued. Not when another worker is free:
    // those inputs are that worker's to take.
    while (!this.done && this.limits !== undefined && e.freeWorkers() <= 1) {
      const next = Queue.takeUnsafe(e.queue)
      if (next === undefined || !Exit.isSuccess(next)) break
      this.take([next.value], now)
    }
    this.prune(now)
    const limits = this.limits
    if (e.settings.lookaheadFactor > 1 && limits !== undefined && this.jobs.length > 0) {
      const selected = select(this.jobs, limits, e.settings.padded, e.settings.maxOvertakeMs, now)
      if (selected.rest.length > 0) {
        this.leftover = this.leftover === undefined ? selected.rest : selected.rest.concat(this.leftover)
        this.capped = true
      }
      this.jobs = selected.jobs
      this.cost = selected.cost
      this.work = selected.work
      // full at a cap (no room for one more input like these) counts as capped, as without bucketing
      const n = this.jobs.length
      if (n >= limits.maxBatchSize || (n > 0 && this.cost + this.cost / n > limits.maxBatchCost)) this.capped = true
    }
    const { capped, cost, jobs, leftover, othersBusy, work } = this
    const batch: Batch<I, O, E> = { jobs, cost, work, capped, othersBusy, limits: this.policyLimits ?? e.lastLimits }
    e.formed++
    e.formedItems += jobs.length
    return leftover !== undefined && leftover.length > 0
      ? [batch, leftover as unknown as readonly [Job<I, O, E>, ...Array<Job<I, O, E>>]] as const
      : [batch] as const
  }
}

/**
 * The sink that forms one batch from the queued jobs: it opens on the first chunk (caps from the
 * size policy, the wait decided), takes what comes up to the caps, and closes when full, when the
 * wait is over, or when another worker frees (what comes next is that worker's).
 *
 * @since 0.1.0
 * @category internals
 */
export const batchSink = <I, O, E, R>(
  e: Engine<I, O, E, R>
): Sink.Sink<Batch<I, O, E>, Job<I, O, E>, Job<I, O, E>> =>
  Sink.fromTransform((upstream) =>
    Effect.suspend(() => {
      const forming = new Forming(e)
      e.formingDelayMs = undefined
      e.formingLimits = undefined
      return upstream.pipe(
        Effect.flatMap((chunk) => forming.step(chunk)),
        Effect.forever({ disableYield: true }),
        Pull.catchDone(() => Effect.sync(() => forming.finish()))
      )
    })
  )

/**
 * Flushes the forming batch when its wait (from the oldest request) is over.
 *
 * @since 0.1.0
 * @category internals
 */
export const waitSchedule = <I, O, E, R>(e: Engine<I, O, E, R>) =>
  Schedule.spaced(Duration.zero).pipe(
    Schedule.modifyDelay(() => Effect.sync(() => Duration.millis(decide(e, e.now(), 0, Infinity))))
  )

/**
 * Picks the batch from a look-ahead window: the oldest request, then overdue ones, then those
 * closest in cost to the oldest, within the caps. Returns the rest in their original order.
 *
 * @since 0.1.0
 * @category internals
 */
export const select = <J extends { readonly cost: number; readonly enqueuedAt: number }>(
  candidates: ReadonlyArray<J>,
  limits: BatchLimits,
  padded: boolean,
  maxOvertakeMs: number,
  now: number
): { jobs: Array<J>; rest: Array<J>; cost: number; work: number } => {
  const n = candidates.length
  const chosen = new Uint8Array(n)
  let count = 0
  let maxItem = 0
  let sum = 0
  const fits = (c: number) => {
    if (count >= limits.maxBatchSize) return false
    if (count === 0) return true
    const m = c > maxItem ? c : maxItem
    return (padded ? m * (count + 1) : sum + c) <= limits.maxBatchCost
  }
  const add = (i: number) => {
    const c = candidates[i]!.cost
    chosen[i] = 1
    count++
    sum += c
    if (c > maxItem) maxItem = c
  }
  // 1. the oldest (FIFO position 0), then every overdue request in age order, while they fit
  add(0)
  for (let i = 1; i < n && now - candidates[i]!.enqueuedAt >= maxOvertakeMs; i++) {
    if (!fits(candidates[i]!.cost)) break
    add(i)
  }
  // 2. the rest, closest in cost to the oldest first
  const anchor = candidates[0]!.cost
  const order: Array<number> = []
  for (let i = 1; i < n; i++) if (chosen[i] === 0) order.push(i)
  order.sort((a, b) => Math.abs(candidates[a]!.cost - anchor) - Math.abs(candidates[b]!.cost - anchor) || a - b)
  for (const i of order) {
    if (count >= limits.maxBatchSize) break
    if (fits(candidates[i]!.cost)) add(i)
  }
  const jobs: Array<J> = []
  const rest: Array<J> = []
  for (let i = 0; i < n; i++) (chosen[i] === 1 ? jobs : rest).push(candidates[i]!)
  return { jobs, rest, cost: padded ? maxItem * count : sum, work: sum }
}
