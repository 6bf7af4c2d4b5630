/**
 * The engine's records: one request (`Job`), the shared completion of a `submitAll` (`Group`), a
 * large request still feeding the queue (`Feed`), a formed batch (`Batch`), and the deque of live
 * jobs, oldest first (`JobDeque`).
 *
 * @since 0.1.0
 * @internal
 */
import type { Effect, Exit } from "effect"
import type { BatchLimits } from "../BatchSizePolicy.js"

/** Job states. @internal */
export const QUEUED = 0
/** @internal */
export const RUNNING = 1
/** @internal */
export const DONE = 2

/** What a lone job's caller gets: its output (`PLAIN`), its `Timed` output, or a one-element list of it. @internal */
export const PLAIN = 0
/** @internal */
export const TIMED = 1
/** @internal */
export const LIST = 2

/** How a caller is resumed: with the exit (or effect) of its request. @internal */
export type Resume = (effect: Effect.Effect<unknown, unknown>) => void

/**
 * One request. Plain mutable object: the only per-request allocation besides the caller's fiber.
 *
 * @internal
 */
export class Job<I, O, E> {
  state = QUEUED
  resume: Resume | undefined = undefined
  exit: Exit.Exit<unknown, unknown> | undefined = undefined
  dispatchedAt = 0
  batchMs = 0
  batchSize = 0
  group: Group<I, O, E> | undefined = undefined
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

/**
 * The shared completion of a `submitAll` request. A large request's members not yet fed are holes.
 *
 * @internal
 */
export class Group<I, O, E> {
  remaining: number
  results: Array<unknown>
  resume: Resume | undefined = undefined
  exit: Exit.Exit<unknown, unknown> | undefined = undefined
  constructor(readonly jobs: Array<Job<I, O, E> | undefined>) {
    this.remaining = jobs.length
    this.results = new Array(jobs.length)
  }
}

/**
 * A large `submitAll` request whose inputs enter the queue a window at a time.
 *
 * @internal
 */
export class Feed<I, O, E> {
  /** Index of the next input to enqueue. */
  next = 0
  /** Inputs before this index are no longer queued (dispatched or done). */
  low = 0
  constructor(
    readonly group: Group<I, O, E>,
    readonly inputs: ReadonlyArray<I>,
    readonly costs: Float64Array,
    readonly submittedAt: number,
    readonly deadline: number,
    readonly timeoutMs: number
  ) {}
}

/**
 * A formed batch.
 *
 * @internal
 */
export interface Batch<I, O, E> {
  readonly jobs: Array<Job<I, O, E>>
  readonly cost: number
  readonly work: number
  readonly capped: boolean
  /** Every other worker was busy when it formed (several workers only). */
  readonly othersBusy: boolean
  readonly limits: BatchLimits
  /** Formed by the idle fast path, not by the stream. */
  readonly fast?: boolean
}

/**
 * Growable array deque of live jobs (queued or running), oldest first.
 *
 * @internal
 */
export class JobDeque<T extends { state: number }> {
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
