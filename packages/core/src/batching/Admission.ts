/**
 * Admission: the one decision whether a request of `n` inputs enters the engine (intake open,
 * every input within the cost budget, room in the queue under `reject`, time for it under
 * back-pressure's shedding), and the submission paths that ask it: one input, several, a large
 * request fed a window at a time, and the precheck.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Exit, Queue } from "effect"
import * as BatchError from "./BatchError.js"
import * as Metrics from "./BatchMetrics.js"
import type { Engine } from "./internal/Engine.js"
import { collectIdle } from "./internal/FastPath.js"
import { DONE, Feed, Group, Job, LIST, QUEUED, TIMED } from "./internal/Job.js"
import { feed } from "./internal/LargeRequests.js"
import { awaitGroup, awaitJob, cancel, expire, settle, withdraw } from "./internal/Settle.js"

/**
 * Why a request was not admitted.
 *
 * @since 0.1.0
 * @category models
 */
export type Refusal =
  | BatchError.ShuttingDown
  | BatchError.CostExceedsBudget
  | BatchError.QueueFull
  | BatchError.Overloaded

/**
 * A request asking to enter: `n` inputs, its timeout, its largest input cost (when known). A
 * `submission` counts in the capacity window and the outcome metrics; a precheck counts only
 * when it is refused for room or time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly n: number
  readonly timeoutMs: number
  readonly maxCost?: number | undefined
  readonly submission: boolean
  /** Its inputs count as arrivals now (a large request's count as they are fed). */
  readonly arrive?: boolean | undefined
  /** Room already granted by `admit`: intake and costs are still checked, room and time not. */
  readonly permit?: Permit | undefined
  readonly now: number
}

/**
 * Room held for a request admitted before its inputs are ready (see `Batcher.admit`): it counts
 * as queued for every other request's admission until `submitAll` uses it or it is released.
 *
 * @since 0.1.0
 * @category models
 */
export class Permit {
  #open = true
  constructor(
    /** Inputs it holds room for (0 for a large request). */
    readonly items: number,
    readonly onRelease: (items: number) => void
  ) {}
  /** Gives the room back; no-op once used or released. */
  release(): void {
    if (!this.#open) return
    this.#open = false
    this.onRelease(this.items)
  }
  /** Uses the permit: `true` if it still held room (now given to the request). */
  use(): boolean {
    const open = this.#open
    this.release()
    return open
  }
}

/** Back-pressure admits a request only if the queued work ahead fits this share of its timeout. */
const SHED_FRACTION = 0.5

/** A retry-after hint (ms): whole, between 50 ms and a minute. */
const retryHint = (ms: number): number => Math.min(60_000, Math.max(50, Math.ceil(ms)))

const retryAfterMs = <I, O, E, R>(e: Engine<I, O, E, R>) => {
  const perMs = e.rates.drainPerMs > 0 ? e.rates.drainPerMs : 0
  const capacity = e.services.queuePolicy.capacity()
  const ms = perMs > 0 ? Math.max(e.lastLimits.maxBatchSize, e.pending - capacity + 1) / perMs : 1000
  return retryHint(ms)
}

/**
 * Back-pressure's refusal of a request that cannot make its deadline: `n` more inputs behind the
 * `pending` ones, at the throughput measured while saturated, plus one batch of its own, must
 * be done within half its timeout. The other half is the margin for the estimate (throughput
 * drops when other work takes the cores), and half a timeout of queued work is still far more
 * than the workers need to stay busy. Nothing is refused before that throughput is measured.
 */
const wouldMiss = <I, O, E, R>(e: Engine<I, O, E, R>, n: number, timeoutMs: number) => {
  const { batchDurationMs, saturatedGapMs, saturatedItems } = e.rates
  const ahead = e.pending + e.reserved
  if (!e.services.queuePolicy.shedLate || saturatedGapMs <= 0 || ahead === 0) return undefined
  const perMs = saturatedItems / saturatedGapMs
  const expectedMs = (ahead + n) / perMs + batchDurationMs
  const budgetMs = timeoutMs * SHED_FRACTION
  if (expectedMs <= budgetMs) return undefined
  // room for this request within its budget once this much of the backlog is done
  const excess = ahead + n - Math.max(0, budgetMs - batchDurationMs) * perMs
  return new BatchError.Overloaded({
    expectedMs,
    timeoutMs,
    queued: e.pending,
    retryAfterMs: retryHint(excess / perMs)
  })
}

/** Counts `n` refused inputs (queue full or shed) in the window and the metrics. */
const countRejected = <I, O, E, R>(e: Engine<I, O, E, R>, n: number) => {
  e.windowRejected += n
  e.update(Metrics.rejections, n)
  e.update(Metrics.requestsByOutcome.rejected, n)
}

/**
 * Closes the dynamic-capacity window when it is over: the queue policy adjusts the capacity.
 *
 * @since 0.1.0
 * @category internals
 */
export const rollWindow = <I, O, E, R>(e: Engine<I, O, E, R>, now: number): void => {
  const queuePolicy = e.services.queuePolicy
  if (now - e.windowStart < queuePolicy.windowMs) return
  const capacity = queuePolicy.adjust({
    submitted: e.windowSubmitted,
    rejected: e.windowRejected,
    peakUtilisation: e.windowPeak / queuePolicy.capacity()
  })
  e.update(Metrics.queueCapacity, capacity)
  e.windowStart = now
  e.windowSubmitted = 0
  e.windowRejected = 0
  e.windowPeak = e.pending
}

/**
 * The admission decision: `undefined` admits the request, a refusal says why not. Under `reject`
 * the queue must have room now for what enters at once: all `n` inputs (all-or-nothing), or one
 * feed window of a large request. Under back-pressure the queued work must leave it time.
 *
 * @since 0.1.0
 * @category internals
 */
export const decide = <I, O, E, R>(e: Engine<I, O, E, R>, request: Request): Refusal | undefined => {
  const { n, submission } = request
  if (!e.accepting) {
    if (submission) e.update(Metrics.requestsByOutcome.shutdown, n)
    return new BatchError.ShuttingDown({ reason: "intake-closed" })
  }
  if (request.maxCost !== undefined && request.maxCost > e.hardCost) {
    e.update(Metrics.requestsByOutcome.failed, n)
    return new BatchError.CostExceedsBudget({ cost: request.maxCost, budget: e.hardCost })
  }
  if (submission) {
    if (request.arrive === true) e.rates.arrive(n, request.now)
    e.windowSubmitted += n
    rollWindow(e, request.now)
  }
  if (request.permit?.use() === true) return undefined
  let refusal: BatchError.QueueFull | BatchError.Overloaded | undefined
  if (e.overflow !== "reject") {
    refusal = wouldMiss(e, n, request.timeoutMs)
  } else {
    const capacity = e.services.queuePolicy.capacity()
    if (e.pending + e.reserved + Math.min(n, e.feedWindow()) > capacity) {
      refusal = new BatchError.QueueFull({ queued: e.pending, capacity, retryAfterMs: retryAfterMs(e) })
    }
  }
  if (refusal === undefined) return undefined
  if (!submission) e.windowSubmitted += n
  countRejected(e, n)
  return refusal
}

/**
 * Would `items` more inputs be refused right now (the decision, without the costs)?
 *
 * @since 0.1.0
 * @category internals
 */
export const precheck = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  items: number,
  timeoutMs: number | undefined
): BatchError.QueueFull | BatchError.Overloaded | BatchError.ShuttingDown | undefined =>
  decide(e, { n: items, timeoutMs: timeoutMs ?? e.settings.defaultTimeoutMs, submission: false, now: e.now() }) as
    | BatchError.QueueFull
    | BatchError.Overloaded
    | BatchError.ShuttingDown
    | undefined

/**
 * The decision for `items` inputs to be submitted later: a permit that holds their room (none for
 * a large request, fed as room frees), or the refusal (counted).
 *
 * @since 0.1.0
 * @category internals
 */
export const admit = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  items: number,
  timeoutMs: number | undefined
): Permit | BatchError.QueueFull | BatchError.Overloaded | BatchError.ShuttingDown => {
  const refused = precheck(e, items, timeoutMs)
  if (refused !== undefined) return refused
  // a large request holds no room: its inputs enter as room frees, a window at a time
  const held = items > e.feedWindow() ? 0 : items
  e.reserved += held
  return new Permit(held, (n) => {
    e.reserved -= n
  })
}

const timeoutOf = <I, O, E, R>(e: Engine<I, O, E, R>, timeout: Duration.Input | undefined) =>
  timeout === undefined ? e.settings.defaultTimeoutMs : Duration.toMillis(Duration.fromInputUnsafe(timeout))

const costOf = <I, O, E, R>(e: Engine<I, O, E, R>, input: I): number => {
  const cost = e.settings.costOf === undefined ? 1 : e.settings.costOf(input)
  if (!(cost >= 0)) throw new RangeError(`cost(input) must be a number >= 0, got ${cost}`)
  return cost
}

/** The costs of `inputs` and the largest, or the defect of an invalid one. */
const costsOf = <I, O, E, R>(e: Engine<I, O, E, R>, inputs: ReadonlyArray<I>) => {
  const costs = new Float64Array(inputs.length)
  let max = 0
  for (let i = 0; i < inputs.length; i++) {
    const cost = costOf(e, inputs[i]!)
    costs[i] = cost
    if (cost > max) max = cost
  }
  return { costs, max }
}

/**
 * Admits one input now (the caller is already suspended): the fast path at an idle engine, the
 * queue otherwise (waiting for room under back-pressure, within its deadline).
 *
 * @since 0.1.0
 * @category internals
 */
export const admitOne = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  input: I,
  timeout: Duration.Input | undefined,
  shape: number,
  permit?: Permit | undefined
): Effect.Effect<unknown, unknown> => {
  let cost: number
  try {
    cost = e.accepting ? costOf(e, input) : 0
  } catch (error) {
    return Effect.die(error)
  }
  const timeoutMs = timeoutOf(e, timeout)
  const now = e.now()
  const refused = decide(e, { n: 1, timeoutMs, maxCost: cost, submission: true, arrive: true, permit, now })
  if (refused !== undefined) return Effect.fail(refused)
  const job = new Job<I, O, E>(
    input,
    cost,
    now,
    now + timeoutMs,
    timeoutMs,
    timeoutMs < e.settings.defaultTimeoutMs,
    shape
  )
  const direct = collectIdle(e, job, now)
  if (direct !== undefined) return direct
  if (e.overflow === "reject") {
    if (!Queue.offerUnsafe(e.queue, job)) {
      countRejected(e, 1)
      const capacity = e.services.queuePolicy.capacity()
      return Effect.fail(new BatchError.QueueFull({ queued: e.pending, capacity, retryAfterMs: retryAfterMs(e) }))
    }
    e.admitted(job)
    return awaitJob(e, job)
  }
  e.admitted(job)
  if (Queue.offerUnsafe(e.queue, job)) return awaitJob(e, job)
  // Back-pressure: suspend until there is room. Interrupting the wait withdraws the request.
  return Queue.offer(e.queue, job).pipe(
    Effect.onInterrupt(() => Effect.sync(() => cancel(e, job))),
    // a request whose deadline passes while it waits for room gets its answer then
    Effect.timeoutOption(Duration.millis(Math.max(0, job.deadline - now))),
    Effect.flatMap((offered) => {
      if (offered._tag === "None") {
        expire(e, job, e.now())
        e.flushOutcomes()
        return Effect.fail(
          new BatchError.DeadlineExceeded({ waitedMs: e.now() - job.enqueuedAt, timeoutMs: job.timeoutMs })
        )
      }
      if (offered.value) return awaitJob(e, job)
      settle(e, job, Exit.void, "shutdown", e.now())
      return Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
    })
  )
}

/**
 * Submits several inputs as one request (see `Batcher.submitAll`).
 *
 * @since 0.1.0
 * @category internals
 */
export const submitAll = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  inputs: ReadonlyArray<I>,
  timeout: Duration.Input | undefined,
  permit?: Permit | undefined
): Effect.Effect<unknown, unknown> =>
  Effect.suspend(() => {
    const n = inputs.length
    if (n === 0) {
      permit?.release()
      return Effect.succeed([])
    }
    if (n === 1) return admitOne(e, inputs[0]!, timeout, LIST, permit)
    const timeoutMs = timeoutOf(e, timeout)
    const now = e.now()
    let costs: { costs: Float64Array; max: number }
    try {
      costs = e.accepting ? costsOf(e, inputs) : { costs: new Float64Array(0), max: 0 }
    } catch (error) {
      return Effect.die(error)
    }
    const large = n > e.feedWindow()
    const refused = decide(e, { n, timeoutMs, maxCost: costs.max, submission: true, arrive: !large, permit, now })
    if (refused !== undefined) return Effect.fail(refused)
    if (large) return submitLarge(e, inputs, costs.costs, timeoutMs, now)
    const custom = timeoutMs < e.settings.defaultTimeoutMs
    const jobs: Array<Job<I, O, E>> = new Array(n)
    const group = new Group<I, O, E>(jobs)
    for (let i = 0; i < n; i++) {
      const job = new Job<I, O, E>(inputs[i]!, costs.costs[i]!, now, now + timeoutMs, timeoutMs, custom, TIMED)
      job.group = group
      job.index = i
      jobs[i] = job
    }
    return e.overflow === "reject" ? enqueueAll(e, group, jobs) : enqueueWaiting(e, group, jobs, now, timeoutMs)
  })

/** Under `reject`: all of a request's inputs enter, or none. */
const enqueueAll = <I, O, E, R>(e: Engine<I, O, E, R>, group: Group<I, O, E>, jobs: Array<Job<I, O, E>>) => {
  let ok = true
  let offered = 0
  for (; ok && offered < jobs.length; offered++) {
    e.admitted(jobs[offered]!)
    if (!Queue.offerUnsafe(e.queue, jobs[offered]!)) ok = false
  }
  if (ok) return awaitGroup(e, group)
  // withdraw what went in; none of it will be computed
  for (let i = 0; i < offered; i++) {
    const job = jobs[i]!
    if (job.state === QUEUED) e.pending--
    job.state = DONE
    if (job.custom) e.liveCustom--
  }
  countRejected(e, jobs.length)
  const capacity = e.services.queuePolicy.capacity()
  return Effect.fail(new BatchError.QueueFull({ queued: e.pending, capacity, retryAfterMs: retryAfterMs(e) }))
}

/** Under back-pressure: what finds no room waits for it, within the request's deadline. */
const enqueueWaiting = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  group: Group<I, O, E>,
  jobs: Array<Job<I, O, E>>,
  now: number,
  timeoutMs: number
): Effect.Effect<unknown, unknown> => {
  const n = jobs.length
  for (const job of jobs) e.admitted(job)
  let i = 0
  while (i < n && Queue.offerUnsafe(e.queue, jobs[i]!)) i++
  if (i === n) return awaitGroup(e, group)
  // The rest waits for room as one entry (Queue.offerAll), so the request's inputs enter
  // together, in arrival order with the other waiting requests: one waiting offer per input would
  // re-queue each input behind every other waiter.
  return Queue.offerAll(e.queue, i === 0 ? jobs : jobs.slice(i)).pipe(
    Effect.flatMap((unoffered) =>
      unoffered.length === 0 ? Effect.void : Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
    ),
    Effect.onInterrupt(() => Effect.sync(() => withdraw(e, group, e.now()))),
    // the deadline also bounds the wait for room
    Effect.timeoutOption(Duration.millis(Math.max(0, now + timeoutMs - e.now()))),
    Effect.flatMap((o) =>
      o._tag === "Some"
        ? Effect.void
        : Effect.fail(new BatchError.DeadlineExceeded({ waitedMs: e.now() - now, timeoutMs }))
    ),
    Effect.catch((error) =>
      Effect.andThen(
        Effect.sync(() => {
          const outcome = error._tag === "DeadlineExceeded" ? "expired" : "shutdown"
          if (group.exit === undefined) group.exit = Exit.fail(error)
          for (const job of jobs) if (job.state === QUEUED) settle(e, job, Exit.void, outcome, e.now())
          e.flushOutcomes()
        }),
        Effect.fail(error)
      )
    ),
    Effect.andThen(awaitGroup(e, group))
  )
}

/** A `submitAll` of more inputs than the feed window, admitted: queued a window at a time. */
const submitLarge = <I, O, E, R>(
  e: Engine<I, O, E, R>,
  inputs: ReadonlyArray<I>,
  costs: Float64Array,
  timeoutMs: number,
  now: number
): Effect.Effect<unknown, unknown> => {
  const group = new Group<I, O, E>(new Array(inputs.length))
  e.feeds.push(new Feed(group, inputs, costs, now, now + timeoutMs, timeoutMs))
  feed(e, now)
  return awaitGroup(e, group)
}
