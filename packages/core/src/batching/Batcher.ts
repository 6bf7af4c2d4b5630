/**
 * The adaptive dynamic-batching engine, generic over any `batch -> results` function.
 *
 * Requests flow as an Effect Stream:
 *
 * ```text
 * submit -> bounded Queue -> Stream.fromQueue
 *        -> Stream.aggregateWithin(batch Sink, wait Schedule)   (caps and wait read per batch from policies)
 *        -> Stream.mapEffect(runBatch, { concurrency: workers, unordered: true })
 *        -> each output to its caller
 * ```
 *
 * **Batch formation waits for a free worker.** `mapEffect` with `unordered: true` takes a worker
 * permit *before* it pulls the next batch, and `aggregateWithin` only pulls from the queue when its
 * sink asks. So while every worker is busy nothing is taken from the queue; when one frees, the
 * sink takes everything queued at that moment (up to the caps) in one chunk. A request arriving at
 * an idle engine is dispatched at once: the sink finishes as soon as the queue is empty unless the
 * wait policy asks to wait (measured from the batch's oldest request, shortened to the nearest
 * deadline), and that wait is the aggregation's Schedule.
 *
 * **Idle fast path.** A request that finds the engine idle (nothing queued, forming or running),
 * when the wait policy would not wait for it, does not go through the stream: it is batched with
 * whatever else arrives in the same event-loop turn and dispatched at the end of that turn (one
 * scheduler hop instead of the queue hand-off, the aggregation fibers and the wait timer). While
 * that batch holds the last free worker the stream takes nothing from the queue, so batches still
 * form only when a worker is free and no more than `workers` run at once.
 *
 * Cancelled and expired requests are skipped when batches form (never computed); a sweeper fails
 * requests whose deadline passes while they wait, even if no worker frees. Closing the scope stops
 * intake, drains within `drainTimeout`, then fails what remains with `ShuttingDown`.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import {
  Array as Arr,
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Latch,
  Layer,
  Pull,
  Queue,
  Schedule,
  Sink,
  Stream
} from "effect"
import * as BatchError from "./BatchError.js"
import * as Metrics from "./BatchMetrics.js"
import { type BatchLimits, BatchSizePolicy } from "./BatchSizePolicy.js"
import * as DurationRecorder from "./DurationRecorder.js"
import { QueuePolicy } from "./QueuePolicy.js"
import { WaitPolicy } from "./WaitPolicy.js"

/**
 * Per-request options.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubmitOptions {
  /** Time budget from now; default: the engine's `requestTimeout`. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * An output with the time it spent in each stage.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timed<O> {
  readonly value: O
  /** ms from submit to dispatch. */
  readonly queueMs: number
  /** ms the batch that computed it ran. */
  readonly batchMs: number
  /** Size of that batch. */
  readonly batchSize: number
}

/**
 * A point-in-time view of the engine, for `/info`, `/ready` and tests.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatcherSnapshot {
  readonly queued: number
  readonly capacity: number
  readonly overflow: "reject" | "backpressure"
  readonly workers: number
  readonly busyWorkers: number
  readonly maxBatchSize: number
  readonly maxBatchCost: number
  readonly maxWaitMs: number
  /** Recent arrival rate (items/s). */
  readonly arrivalRate: number
  readonly accepting: boolean
  /** The queue is at least 90 % full (reject) or full (back-pressure). */
  readonly saturated: boolean
  readonly policies: {
    readonly batchSize: Record<string, number | string>
    readonly wait: Record<string, number | string>
    readonly queue: Record<string, number | string>
  }
}

/**
 * The engine's interface.
 *
 * @since 0.1.0
 * @category models
 */
export interface Batcher<I, O, E = never> {
  /** Submits one input; succeeds with its own output. */
  readonly submit: (input: I, options?: SubmitOptions) => Effect.Effect<O, E | BatchError.BatcherError>
  /** Like `submit`, with the time spent queued and computing. */
  readonly submitTimed: (input: I, options?: SubmitOptions) => Effect.Effect<Timed<O>, E | BatchError.BatcherError>
  /**
   * Submits several inputs as one request: each is its own item (they may share batches with other
   * requests) and the result comes once all are done, in order. Admission is all-or-nothing under
   * `reject`; the first failure fails the request and withdraws its items still queued. A request
   * of more inputs than the feed window (`Options.feedWindow`) needs room for one window only: its
   * inputs enter the queue as room frees, a window at a time, within its deadline.
   */
  readonly submitAll: (
    inputs: ReadonlyArray<I>,
    options?: SubmitOptions
  ) => Effect.Effect<Array<Timed<O>>, E | BatchError.BatcherError>
  readonly snapshot: Effect.Effect<BatcherSnapshot>
  /**
   * Would `items` more inputs be refused right now? Returns the error `submitAll` would fail with
   * (and counts the rejection), or `undefined`. Lets a caller refuse before doing costly work
   * (parsing, tokenizing) for a request that cannot be queued: under overload that work would
   * otherwise starve the event loop that batches form on.
   */
  readonly precheck: (
    items: number,
    /** The request's timeout (default: the engine's `requestTimeout`). */
    timeoutMs?: number
  ) => BatchError.QueueFull | BatchError.Overloaded | BatchError.ShuttingDown | undefined
}

/**
 * Engine options. Batch caps, wait and queue come from the policy services.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<I, O, E, R> {
  /**
   * The batch function: one output per input, in order. It must not keep the input array after it
   * completes (the engine reuses it).
   */
  readonly run: (batch: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
  /** Batches running at once (default 1). */
  readonly workers?: number | undefined
  /** Cost of one input (e.g. its token count); default: none. */
  readonly cost?: ((input: I) => number) | undefined
  /** How a batch's cost is counted: `"sum"` of costs, or `"padded"`: largest x count (default `"sum"`). */
  readonly batchCost?: "sum" | "padded" | undefined
  /** Default per-request time budget (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** How long closing the scope waits for queued and in-flight work (default 10 s). */
  readonly drainTimeout?: Duration.Input | undefined
  /** Re-run a failed batch in halves so only the poisoned input fails (default false). */
  readonly isolateFailures?: boolean | undefined
  /**
   * Group inputs of similar cost: take up to `lookahead` x the item cap from the queue, and build
   * the batch around the oldest request from the inputs closest to it in cost; requests older than
   * `maxOvertakeMs` are taken first. The oldest request is always in the next batch, so nothing is
   * overtaken for long. Default: off (FIFO).
   */
  readonly bucketing?:
    | { readonly lookahead?: number | undefined; readonly maxOvertakeMs?: number | undefined }
    | undefined
  /**
   * A `submitAll` of more inputs than this is a large request: it is not refused because the queue
   * cannot take it whole; its inputs enter the queue as room frees, at most this many of them
   * queued at once, so requests arriving beside it wait behind one window rather than the whole
   * request. Default: the hard item cap (`BatchSizePolicy.hardLimits`) x `workers` (one batch per
   * worker).
   */
  readonly feedWindow?: number | undefined
}

const QUEUED = 0
const RUNNING = 1
const DONE = 2

/** What a lone job's caller gets: its output, its `Timed` output, or a one-element list of it. */
const PLAIN = 0
const TIMED = 1
const LIST = 2

/** One request. Plain mutable object: the only per-request allocation besides the caller's fiber. */
class Job<I, O, E> {
  state = QUEUED
  resume: ((effect: Effect.Effect<any, any>) => void) | undefined = undefined
  exit: Exit.Exit<any, any> | undefined = undefined
  dispatchedAt = 0
  batchMs = 0
  batchSize = 0
  group: Group | undefined = undefined
  index = 0
  /** How long the engine had no work at all when this request arrived (ms; 0 if it had some). */
  idleMs = 0
  constructor(
    readonly input: I,
    readonly cost: number,
    readonly enqueuedAt: number,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly custom: boolean,
    /** `PLAIN`, `TIMED` or `LIST` (`submitAll` of one input); group members are always timed. */
    readonly shape: number
  ) {}
  declare readonly _O: O
  declare readonly _E: E
}

/** The shared completion of a `submitAll` request. */
class Group {
  remaining: number
  results: Array<unknown>
  resume: ((effect: Effect.Effect<any, any>) => void) | undefined = undefined
  exit: Exit.Exit<any, any> | undefined = undefined
  constructor(readonly jobs: Array<Job<any, any, any>>) {
    this.remaining = jobs.length
    this.results = new Array(jobs.length)
  }
}

/** A large `submitAll` request whose inputs enter the queue a window at a time. */
class Feed<I> {
  /** Index of the next input to enqueue. */
  next = 0
  /** Inputs before this index are no longer queued (dispatched or done). */
  low = 0
  constructor(
    readonly group: Group,
    readonly inputs: ReadonlyArray<I>,
    readonly costs: Float64Array,
    readonly submittedAt: number,
    readonly deadline: number,
    readonly timeoutMs: number
  ) {}
}

/** A formed batch. */
interface Batch<I, O, E> {
  readonly jobs: Array<Job<I, O, E>>
  readonly cost: number
  readonly work: number
  readonly capped: boolean
  /** Every other worker was busy when it formed (several workers only). */
  readonly othersBusy: boolean
  readonly limits: BatchLimits
  /** Formed by the idle fast path (see `collectIdle`), not by the stream. */
  readonly fast?: boolean
}

/** Growable array deque of live jobs (queued or running), oldest first. */
class Live<T extends { state: number }> {
  items: Array<T> = []
  head = 0
  push(x: T) {
    this.items.push(x)
  }
  /** Drops finished jobs from the front and compacts now and then. */
  trim() {
    const items = this.items
    let h = this.head
    while (h < items.length && items[h]!.state === DONE) h++
    if (h === items.length) {
      items.length = 0
      h = 0
    } else if (h > 1024 && h * 2 > items.length) {
      this.items = items.slice(h)
      h = 0
    }
    this.head = h
  }
}

/**
 * Arrivals within this many ms of a batch's completion count as callers answered by it sending
 * their next request (a closed loop): they do not arrive while every worker is busy.
 */
const ECHO_MS = 2

/** Back-pressure admits a request only if the queued work ahead fits this share of its timeout. */
const SHED_FRACTION = 0.5

/** A retry-after hint (ms): whole, between 50 ms and a minute. */
const retryHint = (ms: number): number => Math.min(60_000, Math.max(50, Math.ceil(ms)))

const nowMs = (clock: Clock.Clock) => Number(clock.monotonicTimeNanosUnsafe()) / 1e6

/**
 * Creates the engine in the current scope. Reads the `BatchSizePolicy`, `WaitPolicy` and
 * `QueuePolicy` services.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, E = never, R = never>(
  options: Options<I, O, E, R>
): Effect.Effect<Batcher<I, O, E>, never, Scope.Scope | R | BatchSizePolicy | WaitPolicy | QueuePolicy> =>
  Effect.gen(function*() {
    const sizePolicy = yield* BatchSizePolicy
    const waitPolicy = yield* WaitPolicy
    const queuePolicy = yield* QueuePolicy
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const runContext = yield* Effect.context<R>()
    const scope = yield* Effect.scope

    const workers = Math.max(1, Math.floor(options.workers ?? 1))
    if (!Number.isFinite(workers)) throw new RangeError(`workers must be a positive integer`)
    const defaultTimeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.requestTimeout ?? "30 seconds"))
    const drainTimeout = Duration.fromInputUnsafe(options.drainTimeout ?? "10 seconds")
    const costOf = options.cost
    const padded = options.batchCost === "padded"
    const hardCost = sizePolicy.hardLimits.maxBatchCost
    const isolate = options.isolateFailures === true
    const lookaheadFactor = options.bucketing ? Math.max(1, options.bucketing.lookahead ?? 4) : 1
    const maxOvertakeMs = options.bucketing?.maxOvertakeMs ?? 50
    const overflow = queuePolicy.overflow
    const physicalCapacity = queuePolicy.maxCapacity

    const queue = yield* Queue.bounded<Job<I, O, E>, Cause.Done>(physicalCapacity)
    const live = new Live<Job<I, O, E>>()

    // Engine state (single-threaded JS: plain variables).
    let accepting = true
    let pending = 0 // accepted and still queued
    let liveCustom = 0 // live jobs with a shorter-than-default timeout
    let busy = 0
    // Batches formed and not yet running, and their inputs (still counted in `pending`).
    let formed = 0
    let formedItems = 0
    let runningItems = 0
    // When each free worker became free, oldest first: a batch's worker stood idle from then (or
    // from its oldest input's arrival, if later) until the batch started. NaN until it first frees.
    const freeSince: Array<number> = new Array(workers).fill(Number.NaN)
    // Start times of the running batches, oldest first.
    const runningSince: Array<number> = []
    let arrivals = 0
    let rateAt = nowMs(clock)
    let rateArrivals = 0
    let ratePerMs = 0
    // Arrivals that did not come right after a batch completed (an answered caller sending its
    // next request), and their rate: only those can fill a waiting batch before a worker frees.
    let freshArrivals = 0
    let rateFresh = 0
    let freshPerMs = 0
    let lastCompletionAt = Number.NEGATIVE_INFINITY
    let drainPerMs = 0
    let drainAt = rateAt
    let drained = 0
    let batchDurationMs = 0
    /** When the engine last ran out of work (nothing queued, no batch running). */
    let idleSince = rateAt
    // The idle fast path (see `collectIdle`): the jobs of the current event-loop turn, its batches
    // (collecting, formed or running; one while collecting, at most `workers`) and how many of
    // them run, its fibers.
    let idleJobs: Array<Job<I, O, E>> | undefined
    let idleMax = 0
    let idleCost = 0
    let fastRunning = 0
    let fastBusy = 0
    const fastFibers = new Set<Fiber.Fiber<void>>()
    /** Closed while the fast batches and the stream's batches hold every worker. */
    const gate = Latch.makeUnsafe(true)
    /** Open while a worker is free. */
    const slots = Latch.makeUnsafe(true)
    /**
     * Inputs per ms the engine dispatches while saturated: over consecutive capped batches (each
     * formed from a queue holding more than a batch, when a worker freed), inputs dispatched per ms
     * between dispatches, gaps included (moving averages of both): `saturatedItems / saturatedGapMs`.
     * 0 = not measured yet.
     */
    let saturatedItems = 0
    let saturatedGapMs = 0
    let lastDispatchAt = 0
    let lastDispatchCapped = false
    let lastLimits: BatchLimits = yield* sizePolicy.current
    let lastWaitMs = 0
    // Dynamic capacity window.
    let windowStart = rateAt
    let windowSubmitted = 0
    let windowRejected = 0
    let windowPeak = 0
    const inputPool: Array<Array<I>> = []

    const latencyRecorder = DurationRecorder.forContext(Metrics.requestDuration, context)
    const queueWaitRecorder = DurationRecorder.forContext(Metrics.queueWaitDuration, context)

    const update = <In>(metric: { updateUnsafe: (input: In, context: Context.Context<never>) => void }, v: In) =>
      metric.updateUnsafe(v, context)

    // Outcome counts are accumulated and flushed once per batch (labelled counters are costly).
    const outcomes: Record<Metrics.Outcome, number> = {
      ok: 0,
      rejected: 0,
      expired: 0,
      cancelled: 0,
      failed: 0,
      shutdown: 0
    }
    const flushOutcomes = () => {
      for (const key in outcomes) {
        const k = key as Metrics.Outcome
        if (outcomes[k] > 0) {
          update(Metrics.requestsByOutcome[k], outcomes[k])
          outcomes[k] = 0
        }
      }
    }

    const settle = (job: Job<I, O, E>, exit: Exit.Exit<any, any>, outcome: Metrics.Outcome, now: number) => {
      if (job.state === DONE) return
      if (job.state === QUEUED) pending--
      job.state = DONE
      if (job.custom) liveCustom--
      outcomes[outcome]++
      if (outcome === "ok") {
        latencyRecorder.record(now - job.enqueuedAt, now)
      }
      let result: Exit.Exit<any, any> = exit
      if (job.group !== undefined) return settleMember(job.group, job, exit, now)
      if (job.shape !== PLAIN && Exit.isSuccess(exit)) {
        const timed = timedOf(job, exit.value)
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

    const timedOf = (job: Job<I, O, E>, value: O): Timed<O> => ({
      value,
      queueMs: job.dispatchedAt - job.enqueuedAt,
      batchMs: job.batchMs,
      batchSize: job.batchSize
    })

    const finishGroup = (group: Group, exit: Exit.Exit<any, any>) => {
      group.exit = exit
      const resume = group.resume
      if (resume !== undefined) {
        group.resume = undefined
        resume(exit)
      }
    }

    const settleMember = (group: Group, job: Job<I, O, E>, exit: Exit.Exit<any, any>, now: number) => {
      if (group.exit !== undefined) return
      if (Exit.isSuccess(exit)) {
        group.results[job.index] = timedOf(job, exit.value)
        if (--group.remaining === 0) finishGroup(group, Exit.succeed(group.results))
        return
      }
      finishGroup(group, exit)
      withdraw(group, now)
    }

    /** Withdraws a group's members that are still queued (they will never be computed). */
    const withdraw = (group: Group, now: number) => {
      for (const member of group.jobs) {
        // a large request's inputs not yet fed are holes
        if (member !== undefined && member.state === QUEUED) settle(member, Exit.void, "cancelled", now)
      }
    }

    const expire = (job: Job<I, O, E>, now: number) =>
      settle(
        job,
        Exit.fail(new BatchError.DeadlineExceeded({ waitedMs: now - job.enqueuedAt, timeoutMs: job.timeoutMs })),
        "expired",
        now
      )

    const retryAfterMs = () => {
      const perMs = drainPerMs > 0 ? drainPerMs : 0
      const ms = perMs > 0 ? Math.max(lastLimits.maxBatchSize, pending - queuePolicy.capacity() + 1) / perMs : 1000
      return retryHint(ms)
    }

    /**
     * Back-pressure's refusal of a request that cannot make its deadline: `n` more inputs behind the
     * `pending` ones, at the throughput measured while saturated, plus one batch of its own, must
     * be done within half its timeout. The other half is the margin for the estimate (throughput
     * drops when other work takes the cores), and half a timeout of queued work is still far more
     * than the workers need to stay busy. Nothing is refused before that throughput is measured.
     */
    const shedLate = queuePolicy.shedLate
    const wouldMiss = (n: number, timeoutMs: number): BatchError.Overloaded | undefined => {
      if (!shedLate || saturatedGapMs <= 0 || pending === 0) return undefined
      const perMs = saturatedItems / saturatedGapMs
      const expectedMs = (pending + n) / perMs + batchDurationMs
      const budgetMs = timeoutMs * SHED_FRACTION
      if (expectedMs <= budgetMs) return undefined
      // room for this request within its budget once this much of the backlog is done
      const excess = pending + n - Math.max(0, budgetMs - batchDurationMs) * perMs
      return new BatchError.Overloaded({
        expectedMs,
        timeoutMs,
        queued: pending,
        retryAfterMs: retryHint(excess / perMs)
      })
    }

    /** Counts `n` refused inputs (queue full or shed) in the window and the metrics. */
    const countRejected = (n: number) => {
      windowRejected += n
      update(Metrics.rejections, n)
      update(Metrics.requestsByOutcome.rejected, n)
    }

    const shed = (error: BatchError.Overloaded, n: number) => {
      countRejected(n)
      return error
    }

    const rollWindow = (now: number) => {
      if (now - windowStart < queuePolicy.windowMs) return
      const capacity = queuePolicy.adjust({
        submitted: windowSubmitted,
        rejected: windowRejected,
        peakUtilisation: windowPeak / queuePolicy.capacity()
      })
      update(Metrics.queueCapacity, capacity)
      windowStart = now
      windowSubmitted = 0
      windowRejected = 0
      windowPeak = pending
    }

    // ---- admission ---------------------------------------------------------------------------

    const awaitJob = (job: Job<I, O, E>): Effect.Effect<any, any> =>
      Effect.callback<any, any>((resume) => {
        if (job.exit !== undefined) {
          resume(job.exit)
          return
        }
        job.resume = resume
        return Effect.sync(() => cancel(job))
      })

    const cancel = (job: Job<I, O, E>) => {
      job.resume = undefined
      if (job.state === QUEUED) {
        settle(job, Exit.void, "cancelled", nowMs(clock))
        flushOutcomes()
      }
    }

    const admitted = (job: Job<I, O, E>) => {
      if (pending === 0 && busy === 0) job.idleMs = job.enqueuedAt - idleSince
      pending++
      if (job.custom) liveCustom++
      if (pending > windowPeak) windowPeak = pending
      live.push(job)
    }

    const submitJob = (input: I, options: SubmitOptions | undefined, shape: number): Effect.Effect<any, any> =>
      Effect.suspend(() => admitOne(input, options, shape))

    /** Admits one input now (the caller is already suspended). */
    const admitOne = (input: I, options: SubmitOptions | undefined, shape: number): Effect.Effect<any, any> => {
      if (!accepting) {
        update(Metrics.requestsByOutcome.shutdown, 1)
        return Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
      }
      const cost = costOf === undefined ? 1 : costOf(input)
      if (!(cost >= 0)) return Effect.die(new RangeError(`cost(input) must be a number >= 0, got ${cost}`))
      if (cost > hardCost) {
        update(Metrics.requestsByOutcome.failed, 1)
        return Effect.fail(new BatchError.CostExceedsBudget({ cost, budget: hardCost }))
      }
      const timeoutMs = options?.timeout === undefined
        ? defaultTimeoutMs
        : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
      const now = nowMs(clock)
      const job = new Job<I, O, E>(input, cost, now, now + timeoutMs, timeoutMs, timeoutMs < defaultTimeoutMs, shape)
      arrivals++
      if (now - lastCompletionAt > ECHO_MS) freshArrivals++
      windowSubmitted++
      rollWindow(now)
      const direct = collectIdle(job, now)
      if (direct !== undefined) return direct
      if (overflow === "reject") {
        const capacity = queuePolicy.capacity()
        if (pending >= capacity || !Queue.offerUnsafe(queue, job)) {
          countRejected(1)
          return Effect.fail(new BatchError.QueueFull({ queued: pending, capacity, retryAfterMs: retryAfterMs() }))
        }
        admitted(job)
        return awaitJob(job)
      }
      const late = wouldMiss(1, timeoutMs)
      if (late !== undefined) return Effect.fail(shed(late, 1))
      admitted(job)
      if (Queue.offerUnsafe(queue, job)) return awaitJob(job)
      // Back-pressure: suspend until there is room. Interrupting the wait withdraws the request.
      return Queue.offer(queue, job).pipe(
        Effect.onInterrupt(() => Effect.sync(() => cancel(job))),
        // a request whose deadline passes while it waits for room gets its answer then
        Effect.timeoutOption(Duration.millis(Math.max(0, job.deadline - now))),
        Effect.flatMap((offered) => {
          if (offered._tag === "None") {
            expire(job, nowMs(clock))
            flushOutcomes()
            return Effect.fail(
              new BatchError.DeadlineExceeded({ waitedMs: nowMs(clock) - job.enqueuedAt, timeoutMs: job.timeoutMs })
            )
          }
          const ok = offered.value
          if (ok) return awaitJob(job)
          settle(job, Exit.void, "shutdown", nowMs(clock))
          return Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
        })
      )
    }

    const awaitGroup = (group: Group): Effect.Effect<any, any> =>
      Effect.callback<any, any>((resume) => {
        if (group.exit !== undefined) {
          resume(group.exit)
          return
        }
        group.resume = resume
        return Effect.sync(() => {
          group.resume = undefined
          if (group.exit === undefined) group.exit = Exit.interrupt()
          withdraw(group, nowMs(clock))
        })
      })

    const submitAll = (inputs: ReadonlyArray<I>, options: SubmitOptions | undefined): Effect.Effect<any, any> =>
      Effect.suspend(() => {
        const n = inputs.length
        if (n === 0) return Effect.succeed([])
        if (n === 1) return admitOne(inputs[0]!, options, LIST)
        if (!accepting) {
          update(Metrics.requestsByOutcome.shutdown, n)
          return Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
        }
        const timeoutMs = options?.timeout === undefined
          ? defaultTimeoutMs
          : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
        const now = nowMs(clock)
        if (n > feedWindow()) return submitLarge(inputs, timeoutMs, now)
        const jobs: Array<Job<I, O, E>> = new Array(n)
        for (let i = 0; i < n; i++) {
          const cost = costOf === undefined ? 1 : costOf(inputs[i]!)
          if (!(cost >= 0)) return Effect.die(new RangeError(`cost(input) must be a number >= 0, got ${cost}`))
          if (cost > hardCost) {
            update(Metrics.requestsByOutcome.failed, n)
            return Effect.fail(new BatchError.CostExceedsBudget({ cost, budget: hardCost }))
          }
          const job = new Job<I, O, E>(
            inputs[i]!,
            cost,
            now,
            now + timeoutMs,
            timeoutMs,
            timeoutMs < defaultTimeoutMs,
            TIMED
          )
          jobs[i] = job
        }
        const group = new Group(jobs)
        for (let i = 0; i < n; i++) {
          jobs[i]!.group = group
          jobs[i]!.index = i
        }
        arrivals += n
        if (now - lastCompletionAt > ECHO_MS) freshArrivals += n
        windowSubmitted += n
        rollWindow(now)
        if (overflow === "reject") {
          const capacity = queuePolicy.capacity()
          let ok = pending + n <= capacity
          let offered = 0
          for (; ok && offered < n; offered++) {
            admitted(jobs[offered]!)
            if (!Queue.offerUnsafe(queue, jobs[offered]!)) ok = false
          }
          if (!ok) {
            // withdraw what went in; none of it will be computed
            for (let i = 0; i < offered; i++) {
              const job = jobs[i]!
              if (job.state === QUEUED) pending--
              job.state = DONE
              if (job.custom) liveCustom--
            }
            countRejected(n)
            return Effect.fail(
              new BatchError.QueueFull({ queued: pending, capacity, retryAfterMs: retryAfterMs() })
            )
          }
          return awaitGroup(group)
        }
        const late = wouldMiss(n, timeoutMs)
        if (late !== undefined) return Effect.fail(shed(late, n))
        for (const job of jobs) admitted(job)
        let i = 0
        while (i < n && Queue.offerUnsafe(queue, jobs[i]!)) i++
        if (i === n) return awaitGroup(group)
        // Back-pressure: the rest waits for room as one entry (Queue.offerAll), so the request's
        // inputs enter together, in arrival order with the other waiting requests: one waiting
        // offer per input would re-queue each input behind every other waiter.
        return Queue.offerAll(queue, i === 0 ? jobs : jobs.slice(i)).pipe(
          Effect.flatMap((unoffered) =>
            unoffered.length === 0 ? Effect.void : Effect.fail(new BatchError.ShuttingDown({ reason: "intake-closed" }))
          ),
          Effect.onInterrupt(() => Effect.sync(() => withdraw(group, nowMs(clock)))),
          // the deadline also bounds the wait for room
          Effect.timeoutOption(Duration.millis(Math.max(0, now + timeoutMs - nowMs(clock)))),
          Effect.flatMap((o) =>
            o._tag === "Some"
              ? Effect.void
              : Effect.fail(
                new BatchError.DeadlineExceeded({ waitedMs: nowMs(clock) - now, timeoutMs })
              )
          ),
          Effect.catch((e) =>
            Effect.andThen(
              Effect.sync(() => {
                const outcome = e._tag === "DeadlineExceeded" ? "expired" : "shutdown"
                if (group.exit === undefined) group.exit = Exit.fail(e)
                for (const job of jobs) {
                  if (job.state === QUEUED) settle(job, Exit.void, outcome, nowMs(clock))
                }
                flushOutcomes()
              }),
              Effect.fail(e)
            )
          ),
          Effect.andThen(awaitGroup(group))
        )
      })

    // ---- the idle fast path -----------------------------------------------------------------

    /**
     * A request that finds the engine idle (nothing queued, forming or running) when the wait
     * policy would not wait for it skips the queue and the batch-formation fibers: it is batched
     * with whatever else arrives in the same event-loop turn (up to the caps) and dispatched at the
     * end of that turn, one scheduler hop instead of the stream's several, and no wait timer. The
     * batch is busy like any other, and while it and the stream's batches hold every worker the
     * stream takes nothing from the queue (`gate`), so no more than `workers` batches run at once.
     */
    const collectIdle = (job: Job<I, O, E>, now: number): Effect.Effect<any, any> | undefined => {
      if (idleJobs !== undefined) {
        const n = idleJobs.length
        const nextMax = job.cost > idleMax ? job.cost : idleMax
        const nextCost = padded ? nextMax * (n + 1) : idleCost + job.cost
        if (n >= lastLimits.maxBatchSize || nextCost > lastLimits.maxBatchCost) return undefined
        idleJobs.push(job)
        idleMax = nextMax
        idleCost = nextCost
        formedItems++
        admitted(job)
        return awaitJob(job)
      }
      if (busy !== 0 || pending !== 0 || fastRunning !== 0) return undefined
      job.idleMs = now - idleSince
      updateRates(now)
      const waitMs = waitPolicy.waitMs({
        batchSize: 1,
        queued: 0,
        maxBatchSize: Math.min(lastLimits.maxBatchSize, fitting([job], lastLimits.maxBatchCost)),
        oldestAgeMs: 0,
        idleWorkers: workers,
        workers,
        nextFreeMs: Infinity, // no batch runs
        arrivalRatePerMs: freshPerMs,
        batchDurationMs,
        idleMs: job.idleMs
      })
      if (waitMs > 0) return undefined
      lastWaitMs = 0
      idleJobs = [job]
      idleMax = job.cost
      idleCost = job.cost
      // the collecting batch counts as formed: it holds a worker for the policy's accounting
      formed++
      formedItems++
      admitted(job)
      fastRunning = 1
      syncGate()
      setImmediate(flushIdle)
      return awaitJob(job)
    }

    /**
     * Runs the jobs collected in this event-loop turn (those still queued) at once. With several
     * workers they are shared among the free workers as the stream would share them (see
     * `shared`): one batch per free worker at most, each of at most its fair share; what is left
     * goes to the queue.
     */
    const flushIdle = () => {
      const collected = idleJobs!
      idleJobs = undefined
      const fiber = Effect.runForkWith(runContext)(
        Effect.flatMap(sizePolicy.current, (limits) => {
          lastLimits = limits
          return Effect.forEach(
            fastBatches(collected, limits),
            (batch) =>
              runBatch(batch).pipe(Effect.ensuring(Effect.sync(() => {
                fastRunning--
                syncGate()
              }))),
            { concurrency: "unbounded", discard: true }
          )
        })
      )
      if (fiber.pollUnsafe() === undefined) {
        fastFibers.add(fiber)
        fiber.addObserver(() => fastFibers.delete(fiber))
      }
    }

    /**
     * The fast batches of `collected` (those still queued): each of at most its fair share, at
     * most one per free worker. They replace the collecting batch in `formed` and `fastRunning`.
     */
    const fastBatches = (
      collected: ReadonlyArray<Job<I, O, E>>,
      limits: BatchLimits
    ): ReadonlyArray<Batch<I, O, E>> => {
      const jobs = collected.filter((job) => job.state === QUEUED)
      // the shares are reckoned as for batches opening now, the collecting one not counted
      formed--
      formedItems -= collected.length
      fastRunning--
      const free = Math.max(1, workers - busy - formed)
      const share = Math.min(shared(limits).maxBatchSize, limits.maxBatchSize)
      const parts: Array<Array<Job<I, O, E>>> = []
      let i = 0
      for (; i < jobs.length && parts.length < free; i += share) parts.push(jobs.slice(i, i + share))
      if (parts.length === 0) parts.push([])
      // more than the free workers take: the rest waits in the queue (or, if it is full, rides along)
      for (; i < jobs.length; i++) if (!Queue.offerUnsafe(queue, jobs[i]!)) parts[parts.length - 1]!.push(jobs[i]!)
      const batches = parts.map((part, i): Batch<I, O, E> => {
        let cost = 0
        let work = 0
        for (const job of part) {
          work += job.cost
          cost = padded ? Math.max(cost, job.cost * part.length) : work
        }
        // as in the stream: every other worker busy (or claimed) when it formed
        const othersBusy = workers > 1 && busy + formed + i >= workers - 1
        return { jobs: part, cost, work, capped: false, othersBusy, limits, fast: true }
      })
      formed += batches.length
      formedItems += jobs.length
      fastRunning += batches.length
      return batches
    }

    const syncGate = () => {
      if (fastRunning > 0 && busy - fastBusy + fastRunning >= workers) gate.closeUnsafe()
      else gate.openUnsafe()
      if (busy >= workers) slots.closeUnsafe()
      else slots.openUnsafe()
    }

    // ---- large requests ----------------------------------------------------------------------

    /** Large requests still feeding their inputs into the queue, oldest first. */
    let feeds: Array<Feed<I>> = []

    // the hard item cap, not the adaptive one: which requests are large does not move with the load
    const feedWindow = () => options.feedWindow ?? Math.max(1, sizePolicy.hardLimits.maxBatchSize) * workers

    /**
     * The refusal of a request of `n` inputs, or `undefined`. Under `reject` the queue must have
     * room now for what enters at once: all `n` inputs (all-or-nothing), or one feed window of a
     * large request. Under back-pressure the queued work must leave it time (`wouldMiss`).
     */
    const refusal = (n: number, timeoutMs: number) => {
      if (overflow !== "reject") {
        const late = wouldMiss(n, timeoutMs)
        return late === undefined ? undefined : shed(late, n)
      }
      const capacity = queuePolicy.capacity()
      if (pending + Math.min(n, feedWindow()) <= capacity) return undefined
      countRejected(n)
      return new BatchError.QueueFull({ queued: pending, capacity, retryAfterMs: retryAfterMs() })
    }

    /** `submitAll` of more inputs than the feed window: admitted whole, queued a window at a time. */
    const submitLarge = (inputs: ReadonlyArray<I>, timeoutMs: number, now: number): Effect.Effect<any, any> => {
      const n = inputs.length
      const costs = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const cost = costOf === undefined ? 1 : costOf(inputs[i]!)
        if (!(cost >= 0)) return Effect.die(new RangeError(`cost(input) must be a number >= 0, got ${cost}`))
        if (cost > hardCost) {
          update(Metrics.requestsByOutcome.failed, n)
          return Effect.fail(new BatchError.CostExceedsBudget({ cost, budget: hardCost }))
        }
        costs[i] = cost
      }
      windowSubmitted += n
      rollWindow(now)
      const refused = refusal(n, timeoutMs)
      if (refused !== undefined) return Effect.fail(refused)
      const group = new Group(new Array(n))
      feeds.push(new Feed(group, inputs, costs, now, now + timeoutMs, timeoutMs))
      feed(now)
      return awaitGroup(group)
    }

    /**
     * Moves the inputs of large requests into the queue, oldest request first: each keeps at most
     * a feed window of inputs queued, within the queue's capacity. Called at submission, when a
     * batch completes (just before its worker takes the next batch, so the requests that arrived
     * while it ran are queued ahead of the new inputs and share that batch), and on sweeps while a
     * worker is idle. Ends a request that can no longer complete (its deadline passed, or intake
     * closed) and forgets those that have their answer.
     */
    const feed = (now: number) => {
      const kept: Array<Feed<I>> = []
      for (const entry of feeds) if (!feedOne(entry, now)) kept.push(entry)
      feeds = kept
    }

    /** Feeds one request; `true` once it needs no more feeding. */
    const feedOne = (entry: Feed<I>, now: number): boolean => {
      const group = entry.group
      const n = entry.inputs.length
      if (group.exit === undefined && (!accepting || now >= entry.deadline)) {
        finishGroup(
          group,
          Exit.fail(
            accepting
              ? new BatchError.DeadlineExceeded({ waitedMs: now - entry.submittedAt, timeoutMs: entry.timeoutMs })
              : new BatchError.ShuttingDown({ reason: "intake-closed" })
          )
        )
        withdraw(group, now)
        outcomes[accepting ? "expired" : "shutdown"] += n - entry.next
        return true
      }
      if (group.exit !== undefined) {
        outcomes.cancelled += n - entry.next // the request failed or was cancelled: the rest never enters
        return true
      }
      const jobs = group.jobs as Array<Job<I, O, E>>
      while (entry.low < entry.next && jobs[entry.low]!.state !== QUEUED) entry.low++
      let queued = 0
      for (let i = entry.low; i < entry.next; i++) if (jobs[i]!.state === QUEUED) queued++
      const window = feedWindow()
      const capacity = queuePolicy.capacity()
      const custom = entry.timeoutMs < defaultTimeoutMs
      while (entry.next < n && queued < window && pending < capacity) {
        const i = entry.next
        const job = new Job<I, O, E>(
          entry.inputs[i]!,
          entry.costs[i]!,
          now,
          entry.deadline,
          entry.timeoutMs,
          custom,
          TIMED
        )
        if (!Queue.offerUnsafe(queue, job)) break
        job.group = group
        job.index = i
        jobs[i] = job
        admitted(job)
        arrivals++
        // fed when a batch completes, like a caller answered by it: no fresh arrival
        if (now - lastCompletionAt > ECHO_MS) freshArrivals++
        entry.next++
        queued++
      }
      return entry.next === n
    }

    // ---- batch formation ---------------------------------------------------------------------

    /**
     * The wait decision for the batch being formed, taken once per batch by whichever comes first:
     * the sink (after its first chunk) or the wait Schedule (stepped when that chunk arrives).
     */
    let formingDelayMs: number | undefined = undefined
    let formingLimits: BatchLimits | undefined = undefined

    /** The oldest request still queued: the head of the batch being formed (FIFO). */
    const oldestQueued = (): Job<I, O, E> | undefined => {
      const items = live.items
      for (let i = live.head; i < items.length; i++) if (items[i]!.state === QUEUED) return items[i]
      return undefined
    }

    /**
     * The caps of a batch that opens while other workers are free too: at most an even share of
     * the queued inputs, so that queued work is spread over the free workers instead of one of them
     * taking everything while the others idle (the policy's caps otherwise).
     */
    const shared = (limits: BatchLimits): BatchLimits => {
      if (workers === 1) return limits
      const free = workers - busy - formed
      const queued = pending - formedItems
      // no worker takes more than its share of all the work in the system (queued and running):
      // a closed loop stays balanced instead of one worker running a batch another lacks
      let share = Math.ceil((queued + runningItems + formedItems) / workers)
      if (free > 1) share = Math.min(share, Math.ceil(queued / free))
      share = Math.max(1, share)
      return share < limits.maxBatchSize ? { maxBatchSize: share, maxBatchCost: limits.maxBatchCost } : limits
    }

    /**
     * How many inputs like `jobs` the cost budget admits in one batch (the largest one's cost each
     * when padded, their mean otherwise): waiting for more than that would be lost.
     */
    const fitting = (jobs: ReadonlyArray<Job<I, O, E>>, budget: number): number => {
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
    const decide = (now: number, taken: number, minDeadline: number, fit = Infinity): number => {
      if (formingDelayMs !== undefined) return formingDelayMs
      updateRates(now)
      const limits = formingLimits ?? lastLimits
      const oldest = oldestQueued()
      if (oldest === undefined) return (formingDelayMs = 0)
      const waitMs = waitPolicy.waitMs({
        batchSize: taken,
        queued: Math.max(0, pending - taken),
        // what the cost budget admits: the decision may come before the batch's first inputs are
        // taken (then the oldest input's cost stands for theirs)
        maxBatchSize: Math.min(limits.maxBatchSize, fit, fitting([oldest], limits.maxBatchCost)),
        oldestAgeMs: now - oldest.enqueuedAt,
        idleWorkers: workers - busy,
        nextFreeMs: runningSince.length === 0 || batchDurationMs === 0
          ? Infinity
          : Math.max(0, runningSince[0]! + batchDurationMs - now),
        workers,
        arrivalRatePerMs: freshPerMs,
        batchDurationMs,
        idleMs: oldest.idleMs
      })
      lastWaitMs = waitMs
      const remaining = Math.min(waitMs - (now - oldest.enqueuedAt), Math.min(minDeadline, oldest.deadline) - now)
      return (formingDelayMs = remaining > 0 ? remaining : 0)
    }

    const updateRates = (now: number) => {
      const dt = now - rateAt
      if (dt >= 1) {
        const a = 1 - Math.exp(-dt / 250)
        ratePerMs += a * ((arrivals - rateArrivals) / dt - ratePerMs)
        freshPerMs += a * ((freshArrivals - rateFresh) / dt - freshPerMs)
        rateAt = now
        rateArrivals = arrivals
        rateFresh = freshArrivals
      }
      const dd = now - drainAt
      if (dd >= 1) {
        const a = 1 - Math.exp(-dd / 1000)
        drainPerMs += a * (drained / dd - drainPerMs)
        drainAt = now
        drained = 0
      }
    }

    const batchSink: Sink.Sink<Batch<I, O, E>, Job<I, O, E>, Job<I, O, E>> = Sink.fromTransform((upstream) =>
      Effect.suspend(() => {
        let limits: BatchLimits | undefined // the policy's caps, shared among the free workers
        let policyLimits: BatchLimits | undefined
        let othersBusy = false
        let jobs: Array<Job<I, O, E>> = []
        let cost = 0
        let work = 0
        let maxItem = 0
        let capped = false
        let done = false
        let noWait = false
        let leftover: Array<Job<I, O, E>> | undefined
        let minDeadline = Infinity
        formingDelayMs = undefined
        formingLimits = undefined
        const cap = () => limits!.maxBatchSize * lookaheadFactor

        const take = (chunk: ReadonlyArray<Job<I, O, E>>, now: number) => {
          for (let i = 0; i < chunk.length; i++) {
            const job = chunk[i]!
            if (job.state !== QUEUED) continue
            if (now >= job.deadline) {
              expire(job, now)
              continue
            }
            if (lookaheadFactor > 1) {
              if (jobs.length >= cap()) {
                leftover = chunk.slice(i) as Array<Job<I, O, E>>
                done = true
                return
              }
            } else {
              const n = jobs.length
              const nextMax = job.cost > maxItem ? job.cost : maxItem
              const nextCost = padded ? nextMax * (n + 1) : cost + job.cost
              if (n >= limits!.maxBatchSize || (n > 0 && nextCost > limits!.maxBatchCost)) {
                leftover = chunk.slice(i) as Array<Job<I, O, E>>
                capped = true
                done = true
                return
              }
              maxItem = nextMax
              cost = nextCost
              work += job.cost
            }
            if (job.deadline < minDeadline) minDeadline = job.deadline
            jobs.push(job)
          }
          // full at a cap: the item cap, or no room in the cost budget for one more input like these
          const n = jobs.length
          if (
            lookaheadFactor === 1 &&
            (n >= limits!.maxBatchSize ||
              (n > 0 && (padded ? maxItem * (n + 1) : cost + maxItem) > limits!.maxBatchCost))
          ) {
            capped = true
            done = true
          }
        }

        const open = (chunk: ReadonlyArray<Job<I, O, E>>) =>
          Effect.map(sizePolicy.current, (l) => {
            limits = shared(l)
            policyLimits = l
            othersBusy = workers > 1 && busy + formed >= workers - 1
            lastLimits = l
            formingLimits = l
            const now = nowMs(clock)
            take(chunk, now)
            const delay = decide(now, jobs.length, minDeadline, fitting(jobs, l.maxBatchCost))
            noWait = done || !(delay > 0)
          })

        const step = (chunk: ReadonlyArray<Job<I, O, E>>) => {
          if (limits !== undefined && jobs.length > 0 && workers - busy - formed > 1) {
            // another worker is free now: what arrives from here on is its to take
            leftover = chunk.slice() as Array<Job<I, O, E>>
            done = true
            return Cause.done()
          }
          const effect = limits === undefined
            ? open(chunk)
            : Effect.sync(() => take(chunk, nowMs(clock)))
          return Effect.flatMap(effect, () => {
            if (!done && noWait && Queue.sizeUnsafe(queue) === 0) done = true
            return done ? Cause.done() : Effect.void
          })
        }

        const finish = () => {
          const now = nowMs(clock)
          // A batch closed by its wait (or at once) takes what is queued now, up to its caps: the
          // flush may come a moment after inputs were queued. Not when another worker is free:
          // those inputs are that worker's to take.
          while (!done && limits !== undefined && workers - busy - formed <= 1) {
            const next = Queue.takeUnsafe(queue)
            if (next === undefined || !Exit.isSuccess(next)) break
            take([next.value], now)
          }
          // Requests may have been cancelled or have expired while the batch waited to fill.
          let removed = false
          for (let i = 0; i < jobs.length; i++) {
            const job = jobs[i]!
            if (job.state !== QUEUED) removed = true
            else if (now >= job.deadline) {
              expire(job, now)
              removed = true
            }
          }
          if (removed) {
            jobs = jobs.filter((job) => job.state === QUEUED)
            maxItem = 0
            work = 0
            for (const job of jobs) {
              work += job.cost
              if (job.cost > maxItem) maxItem = job.cost
            }
            cost = padded ? maxItem * jobs.length : work
          }
          if (lookaheadFactor > 1 && limits !== undefined && jobs.length > 0) {
            const selected = select(jobs, limits, padded, maxOvertakeMs, now)
            if (selected.rest.length > 0) {
              leftover = leftover === undefined ? selected.rest : selected.rest.concat(leftover)
              capped = true
            }
            jobs = selected.jobs
            cost = selected.cost
            work = selected.work
            // full at a cap (no room for one more input like these) counts as capped, as without
            // bucketing
            const n = jobs.length
            if (n >= limits.maxBatchSize || (n > 0 && cost + cost / n > limits.maxBatchCost)) capped = true
          }
          const batch: Batch<I, O, E> = { jobs, cost, work, capped, othersBusy, limits: policyLimits ?? lastLimits }
          formed++
          formedItems += jobs.length
          return leftover !== undefined && leftover.length > 0
            ? [batch, leftover as unknown as readonly [Job<I, O, E>, ...Array<Job<I, O, E>>]] as const
            : [batch] as const
        }

        return upstream.pipe(
          Effect.flatMap(step),
          Effect.forever({ disableYield: true }),
          Pull.catchDone(() => Effect.sync(finish))
        )
      })
    )

    /** Flushes the forming batch when its wait (from the oldest request) is over. */
    const waitSchedule = Schedule.spaced(Duration.zero).pipe(
      Schedule.modifyDelay(() => Effect.sync(() => Duration.millis(decide(nowMs(clock), 0, Infinity))))
    )

    // ---- batch execution ---------------------------------------------------------------------

    /** Runs the batch function on a pooled input array; `release` returns the array afterwards. */
    const runOnce = (jobs: ReadonlyArray<Job<I, O, E>>) =>
      Effect.suspend(() => {
        const inputs = inputPool.pop() ?? []
        for (let i = 0; i < jobs.length; i++) inputs.push(jobs[i]!.input)
        return Effect.map(Effect.exit(options.run(inputs)), (exit) => [exit, inputs] as const)
      })

    /** Back to the pool, only once the outputs were handed out (they may be the same array). */
    const release = (inputs: Array<I>) => {
      inputs.length = 0
      if (inputPool.length < workers * 2) inputPool.push(inputs)
    }

    const complete = (
      jobs: ReadonlyArray<Job<I, O, E>>,
      exit: Exit.Exit<ReadonlyArray<O>, E>
    ): Effect.Effect<void, never, R> => {
      const now = nowMs(clock)
      if (Exit.isSuccess(exit)) {
        const outputs = exit.value
        if (outputs.length !== jobs.length) {
          const error = Exit.fail(new BatchError.BatchShapeMismatch({ inputs: jobs.length, outputs: outputs.length }))
          for (const job of jobs) settle(job, error, "failed", now)
          return Effect.void
        }
        for (let i = 0; i < jobs.length; i++) {
          const job = jobs[i]!
          // a result that comes after the request's deadline is not an answer within its budget
          if (now > job.deadline) expire(job, now)
          else settle(job, Exit.succeed(outputs[i]), "ok", now)
        }
        return Effect.void
      }
      if (Cause.hasInterruptsOnly(exit.cause)) return Effect.void // shutdown: the drain fails them
      if (isolate && jobs.length > 1) {
        const mid = jobs.length >> 1
        const halves = [jobs.slice(0, mid), jobs.slice(mid)]
        return Effect.forEach(
          halves,
          (half) =>
            Effect.flatMap(
              runOnce(half),
              ([e, inputs]) => Effect.ensuring(complete(half, e), Effect.sync(() => release(inputs)))
            ),
          { discard: true }
        )
      }
      for (const job of jobs) settle(job, exit, "failed", now)
      return Effect.void
    }

    /** A thunk recording a dispatched batch in the metrics. */
    const recordDispatch = (
      batch: Batch<I, O, E>,
      jobs: ReadonlyArray<Job<I, O, E>>,
      start: number,
      depth: number,
      waitMs: number
    ) =>
    () => {
      update(Metrics.batchesInFlight, busy)
      for (let i = 0; i < jobs.length; i++) queueWaitRecorder.record(start - jobs[i]!.enqueuedAt, start)
      update(Metrics.batchSize, jobs.length)
      update(Metrics.batchCost, batch.cost)
      update(Metrics.batches, 1)
      update(Metrics.batchEfficiency, jobs.length / batch.limits.maxBatchSize)
      update(Metrics.policyMaxBatchSize, batch.limits.maxBatchSize)
      update(Metrics.policyMaxBatchCost, Number.isFinite(batch.limits.maxBatchCost) ? batch.limits.maxBatchCost : 0)
      update(Metrics.policyWait, waitMs)
      update(Metrics.queueDepth, depth)
      update(Metrics.queueUtilisation, depth / queuePolicy.capacity())
      update(Metrics.arrivalRate, ratePerMs * 1000)
    }

    const runBatch = (batch: Batch<I, O, E>): Effect.Effect<void, never, R> =>
      Effect.suspend(() => {
        // Only with the idle fast path can every worker be taken when a batch is ready: it waits
        // (and counts as formed, not running, meanwhile).
        if (batch.jobs.length > 0 && busy >= workers) return Effect.andThen(slots.await, runBatch(batch))
        formed--
        formedItems -= batch.jobs.length
        if (batch.jobs.length === 0) return Effect.void
        const start = nowMs(clock)
        // Last check at dispatch: cancelled or expired since the batch formed are never computed.
        let jobs = batch.jobs
        for (let i = 0; i < jobs.length; i++) {
          const job = jobs[i]!
          if (job.state === QUEUED && start >= job.deadline) expire(job, start)
          if (job.state !== QUEUED) {
            jobs = jobs.filter((j) => j.state === QUEUED)
            break
          }
        }
        if (jobs.length === 0) {
          flushOutcomes()
          return Effect.void
        }
        if (batch.capped && lastDispatchCapped && start > lastDispatchAt) {
          const gap = start - lastDispatchAt
          saturatedItems = saturatedItems === 0 ? jobs.length : saturatedItems + 0.2 * (jobs.length - saturatedItems)
          saturatedGapMs = saturatedGapMs === 0 ? gap : saturatedGapMs + 0.2 * (gap - saturatedGapMs)
        }
        lastDispatchAt = start
        lastDispatchCapped = batch.capped
        const freedAt = freeSince.shift()
        let oldest = start
        for (let i = 0; i < jobs.length; i++) if (jobs[i]!.enqueuedAt < oldest) oldest = jobs[i]!.enqueuedAt
        const idleMs = freedAt !== undefined && start > freedAt ? start - Math.max(freedAt, oldest) : 0
        runningSince.push(start)
        runningItems += jobs.length
        busy++
        if (batch.fast === true) fastBusy++
        syncGate()
        for (let i = 0; i < jobs.length; i++) {
          const job = jobs[i]!
          if (job.state === QUEUED) pending--
          job.state = RUNNING
          job.dispatchedAt = start
          job.batchSize = jobs.length
        }
        drained += jobs.length
        // The dispatch metrics are recorded once the batch is on its way (a microtask runs when
        // this turn's synchronous dispatch is done), off the path of its requests.
        queueMicrotask(recordDispatch(batch, jobs, start, pending, lastWaitMs))
        return Effect.flatMap(runOnce(jobs), ([exit, inputs]) => {
          const end = nowMs(clock)
          const durationMs = end - start
          for (let i = 0; i < jobs.length; i++) jobs[i]!.batchMs = durationMs
          batchDurationMs = batchDurationMs === 0 ? durationMs : batchDurationMs + 0.2 * (durationMs - batchDurationMs)
          const observe = Exit.isSuccess(exit)
            ? sizePolicy.observe({
              size: jobs.length,
              cost: batch.cost,
              work: costOf === undefined ? jobs.length : batch.work,
              durationMs,
              capped: batch.capped,
              othersBusy: batch.othersBusy,
              limits: batch.limits,
              idleMs
            })
            : Effect.void
          // answer first; the policy and the metrics learn from the batch after
          return complete(jobs, exit).pipe(
            Effect.andThen(observe),
            Effect.andThen(Effect.sync(() => update(Metrics.batchDuration, durationMs))),
            Effect.ensuring(Effect.sync(() => release(inputs)))
          )
        }).pipe(
          Effect.ensuring(Effect.sync(() => {
            busy--
            if (batch.fast === true) fastBusy--
            runningItems -= jobs.length
            runningSince.splice(runningSince.indexOf(start), 1)
            lastCompletionAt = nowMs(clock)
            freeSince.push(lastCompletionAt)
            if (busy === 0 && pending === 0) idleSince = lastCompletionAt
            syncGate()
            update(Metrics.batchesInFlight, busy)
            // large requests top up now, behind what arrived while the batch ran (see `feed`)
            if (feeds.length > 0) feed(nowMs(clock))
            flushOutcomes()
            live.trim()
          }))
        )
      })

    // ---- deadlines sweeper -------------------------------------------------------------------

    const sweep = Effect.sync(() => {
      const now = nowMs(clock)
      live.trim()
      const items = live.items
      const full = liveCustom > 0
      for (let i = live.head; i < items.length; i++) {
        const job = items[i]!
        if (job.state === DONE) continue
        if (now >= job.deadline) expire(job, now)
        else if (!full && !job.custom) break
      }
      live.trim()
      if (feeds.length > 0 && busy < workers) feed(now)
      flushOutcomes()
      update(Metrics.queueDepth, pending)
      rollWindow(now)
    })
    const tickMs = Math.min(100, Math.max(5, defaultTimeoutMs / 20))
    yield* sweep.pipe(
      Effect.andThen(Effect.sleep(Duration.millis(tickMs))),
      Effect.forever,
      Effect.forkIn(scope)
    )

    // ---- the pipeline ------------------------------------------------------------------------

    // What the stream takes waits while the fast batch and the stream's batches hold every worker.
    // What was taken meanwhile goes out with everything queued when the gate opens.
    const upstream = Effect.flatMap(Queue.takeAll(queue), (chunk) =>
      gate.isOpen()
        ? Effect.succeed(chunk)
        : Effect.andThen(
          gate.await,
          Effect.map(Queue.clear(queue), (rest) => rest.length === 0 ? chunk : Arr.appendAll(chunk, rest))
        ))
    const consumer = yield* Stream.fromPull(Effect.succeed(upstream)).pipe(
      Stream.aggregateWithin(batchSink, waitSchedule),
      Stream.mapEffect(runBatch, { concurrency: workers, unordered: true }),
      Stream.runDrain,
      Effect.forkIn(scope)
    )

    update(Metrics.queueCapacity, queuePolicy.capacity())

    // Registered after the forks, so it runs before they are interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        accepting = false
        feed(nowMs(clock)) // large requests still feeding end now: their rest can no longer enter
        yield* Queue.end(queue)
        const finished = yield* Effect.andThen(Fiber.await(consumer), Fiber.awaitAll(fastFibers)).pipe(
          Effect.timeoutOption(drainTimeout)
        )
        if (finished._tag === "None") {
          yield* Fiber.interrupt(consumer)
          yield* Fiber.interruptAll(fastFibers)
        }
        const now = nowMs(clock)
        const error = Exit.fail(new BatchError.ShuttingDown({ reason: "drain-timeout" }))
        const items = live.items
        for (let i = live.head; i < items.length; i++) settle(items[i]!, error, "shutdown", now)
        live.trim()
        flushOutcomes()
      })
    )

    const snapshot = Effect.gen(function*() {
      const capacity = queuePolicy.capacity()
      return {
        queued: pending,
        capacity,
        overflow,
        workers,
        busyWorkers: busy,
        maxBatchSize: lastLimits.maxBatchSize,
        maxBatchCost: lastLimits.maxBatchCost,
        maxWaitMs: waitPolicy.maxWaitMs,
        arrivalRate: ratePerMs * 1000,
        accepting,
        saturated: overflow === "reject" ? pending >= capacity * 0.9 : pending >= capacity,
        policies: {
          batchSize: yield* sizePolicy.describe,
          wait: yield* waitPolicy.describe,
          queue: yield* queuePolicy.describe
        }
      } satisfies BatcherSnapshot
    })

    return {
      submit: (input, options) => submitJob(input, options, PLAIN),
      submitTimed: (input, options) => submitJob(input, options, TIMED),
      submitAll,
      precheck: (items, timeoutMs) => {
        if (!accepting) return new BatchError.ShuttingDown({ reason: "intake-closed" })
        if (overflow !== "reject") {
          const late = wouldMiss(items, timeoutMs ?? defaultTimeoutMs)
          if (late === undefined) return undefined
          windowSubmitted += items
          return shed(late, items)
        }
        const capacity = queuePolicy.capacity()
        if (pending + Math.min(items, feedWindow()) <= capacity) return undefined
        windowSubmitted += items
        countRejected(items)
        return new BatchError.QueueFull({ queued: pending, capacity, retryAfterMs: retryAfterMs() })
      },
      snapshot
    } satisfies Batcher<I, O, E>
  })

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

/**
 * Builds a Layer for a service key whose shape is a `Batcher`.
 *
 * ```ts
 * class Squarer extends Context.Service<Squarer, Batcher.Batcher<number, number>>()("app/Squarer") {}
 * const SquarerLive = Batcher.layer(Squarer, { run: (xs) => Effect.succeed(xs.map((x) => x * x)) })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <Self, I, O, E, R>(
  key: Context.Key<Self, Batcher<I, O, E>>,
  options: Options<I, O, E, R>
): Layer.Layer<Self, never, Exclude<R, Scope.Scope> | BatchSizePolicy | WaitPolicy | QueuePolicy> =>
  Layer.effect(key, make(options))
