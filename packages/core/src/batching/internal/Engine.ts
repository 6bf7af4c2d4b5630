/**
 * The engine's shared state: its settings, services, queue, live jobs and counters, read and
 * written by the admission, formation and execution modules. Single-threaded JS: plain fields.
 *
 * @since 0.1.0
 * @internal
 */
import type { Cause, Clock, Context, Duration, Effect, Fiber, Queue } from "effect"
import { Latch } from "effect"
import * as Metrics from "../BatchMetrics.js"
import type { BatchLimits, BatchSizePolicy } from "../BatchSizePolicy.js"
import * as DurationRecorder from "../DurationRecorder.js"
import type { QueuePolicy } from "../QueuePolicy.js"
import type { WaitPolicy } from "../WaitPolicy.js"
import { type Feed, type Job, JobDeque } from "./Job.js"
import { Rates } from "./Rates.js"

/** The engine's fixed settings, resolved from its options. @internal */
export interface Settings<I, O, E, R> {
  readonly run: (batch: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
  readonly workers: number
  readonly defaultTimeoutMs: number
  readonly drainTimeout: Duration.Duration
  readonly costOf: ((input: I) => number) | undefined
  readonly padded: boolean
  readonly isolate: boolean
  readonly lookaheadFactor: number
  readonly maxOvertakeMs: number
  readonly feedWindow: number | undefined
}

/** The services the engine reads. @internal */
export interface Services<R> {
  readonly sizePolicy: BatchSizePolicy["Service"]
  readonly waitPolicy: WaitPolicy["Service"]
  readonly queuePolicy: QueuePolicy["Service"]
  readonly clock: Clock.Clock
  readonly context: Context.Context<never>
  readonly runContext: Context.Context<R>
}

/** A metric that takes values of `In`. */
interface Updatable<In> {
  updateUnsafe: (input: In, context: Context.Context<never>) => void
}

/**
 * The engine's state.
 *
 * @internal
 */
export class Engine<I, O, E, R> {
  readonly live = new JobDeque<Job<I, O, E>>()
  readonly rates: Rates
  readonly hardCost: number
  readonly overflow: "reject" | "backpressure"
  accepting = true
  /** Accepted and still queued (taken into a forming batch included). */
  pending = 0
  /** Inputs of admitted requests not submitted yet (see `Admission.Permit`). */
  reserved = 0
  /** Live jobs with a shorter-than-default timeout. */
  liveCustom = 0
  busy = 0
  /** Batches formed (or collecting, on the fast path) and not yet running, and their inputs. */
  formed = 0
  formedItems = 0
  runningItems = 0
  /**
   * When each free worker became free, oldest first: a batch's worker stood idle from then (or
   * from its oldest input's arrival, if later) until the batch started. NaN until it first frees.
   */
  readonly freeSince: Array<number>
  /** Start times of the running batches, oldest first. */
  readonly runningSince: Array<number> = []
  /** When the engine last ran out of work (nothing queued, no batch running). */
  idleSince: number
  // The idle fast path: the jobs of the current event-loop turn, its batches (collecting, formed
  // or running; one while collecting, at most `workers`) and how many of them run, its fibers.
  idleJobs: Array<Job<I, O, E>> | undefined = undefined
  idleMax = 0
  idleCost = 0
  fastRunning = 0
  fastBusy = 0
  readonly fastFibers = new Set<Fiber.Fiber<void>>()
  /** Closed while the fast batches and the stream's batches hold every worker. */
  readonly gate = Latch.makeUnsafe(true)
  /** Open while a worker is free. */
  readonly slots = Latch.makeUnsafe(true)
  lastLimits: BatchLimits
  lastWaitMs = 0
  // The wait decision for the batch being formed, taken once per batch by whichever comes first:
  // the sink (after its first chunk) or the wait Schedule (stepped when that chunk arrives).
  formingDelayMs: number | undefined = undefined
  formingLimits: BatchLimits | undefined = undefined
  // Dynamic capacity window.
  windowStart: number
  windowSubmitted = 0
  windowRejected = 0
  windowPeak = 0
  readonly inputPool: Array<Array<I>> = []
  /** Large requests still feeding their inputs into the queue, oldest first. */
  feeds: Array<Feed<I, O, E>> = []
  /** Outcome counts, flushed once per batch (labelled counters are costly). */
  readonly outcomes: Record<Metrics.Outcome, number> = {
    ok: 0,
    rejected: 0,
    expired: 0,
    cancelled: 0,
    failed: 0,
    shutdown: 0
  }
  readonly latencyRecorder: DurationRecorder.DurationRecorder
  readonly queueWaitRecorder: DurationRecorder.DurationRecorder

  constructor(
    readonly settings: Settings<I, O, E, R>,
    readonly services: Services<R>,
    readonly queue: Queue.Queue<Job<I, O, E>, Cause.Done>,
    limits: BatchLimits
  ) {
    const now = this.now()
    this.rates = new Rates(now)
    this.idleSince = now
    this.windowStart = now
    this.lastLimits = limits
    this.hardCost = services.sizePolicy.hardLimits.maxBatchCost
    this.overflow = services.queuePolicy.overflow
    this.freeSince = new Array(settings.workers).fill(Number.NaN)
    this.latencyRecorder = DurationRecorder.forContext(Metrics.requestDuration, services.context)
    this.queueWaitRecorder = DurationRecorder.forContext(Metrics.queueWaitDuration, services.context)
  }

  /** Monotonic time (ms). */
  now(): number {
    return Number(this.services.clock.monotonicTimeNanosUnsafe()) / 1e6
  }

  /** Updates a metric in the engine's context. */
  update<In>(metric: Updatable<In>, value: In) {
    metric.updateUnsafe(value, this.services.context)
  }

  /** Records the outcome counts accumulated since the last flush. */
  flushOutcomes() {
    const outcomes = this.outcomes
    for (const key in outcomes) {
      const k = key as Metrics.Outcome
      if (outcomes[k] > 0) {
        this.update(Metrics.requestsByOutcome[k], outcomes[k])
        outcomes[k] = 0
      }
    }
  }

  /** Counts a job as accepted and live (it is queued, or collected by the fast path). */
  admitted(job: Job<I, O, E>) {
    if (this.pending === 0 && this.busy === 0) job.idleMs = job.enqueuedAt - this.idleSince
    this.pending++
    if (job.custom) this.liveCustom++
    if (this.pending > this.windowPeak) this.windowPeak = this.pending
    this.live.push(job)
  }

  /** Workers neither running a batch nor claimed by a formed one. */
  freeWorkers(): number {
    return this.settings.workers - this.busy - this.formed
  }

  /** Opens or closes the stream's gate and the worker slots after a change of who runs. */
  syncGate() {
    const workers = this.settings.workers
    if (this.fastRunning > 0 && this.busy - this.fastBusy + this.fastRunning >= workers) this.gate.closeUnsafe()
    else this.gate.openUnsafe()
    if (this.busy >= workers) this.slots.closeUnsafe()
    else this.slots.openUnsafe()
  }

  /**
   * Inputs of a `submitAll` beyond which it is a large request. The hard item cap, not the
   * adaptive one: which requests are large does not move with the load.
   */
  feedWindow(): number {
    return this.settings.feedWindow ??
      Math.max(1, this.services.sizePolicy.hardLimits.maxBatchSize) * this.settings.workers
  }
}
