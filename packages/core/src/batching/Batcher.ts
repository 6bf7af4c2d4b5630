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
import type { Context, Scope } from "effect"
import { Array as Arr, Cause, Clock, Duration, Effect, Exit, Fiber, Layer, Queue, Stream } from "effect"
import * as Admission from "./Admission.js"
import * as BatchError from "./BatchError.js"
import * as Metrics from "./BatchMetrics.js"
import { BatchSizePolicy } from "./BatchSizePolicy.js"
import { runBatch } from "./Execution.js"
import * as Formation from "./Formation.js"
import { Engine, type Settings } from "./internal/Engine.js"
import { type Job, PLAIN, TIMED } from "./internal/Job.js"
import { feed } from "./internal/LargeRequests.js"
import { settle } from "./internal/Settle.js"
import * as Sweeper from "./internal/Sweeper.js"
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
  /** Room granted earlier by `admit`: the request is not asked for room or time again. */
  readonly permit?: Admission.Permit | undefined
}

/**
 * Room held for a request admitted before its inputs are ready (see {@link Batcher.admit}).
 *
 * @since 0.1.0
 * @category models
 */
export { Permit } from "./Admission.js"

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
  /**
   * Admission asked once, before costly work (parsing, tokenizing) for a request of `items`
   * inputs: a permit that holds their room, counted as queued for everyone else, until
   * `submitAll` (or `submit`) uses it with `{ permit }` or it is released; or the error the
   * submission would fail with (counted). Release a permit that will not be used.
   */
  readonly admit: (
    items: number,
    /** The request's timeout (default: the engine's `requestTimeout`). */
    timeoutMs?: number
  ) => Admission.Permit | BatchError.QueueFull | BatchError.Overloaded | BatchError.ShuttingDown
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

/** The engine's settings from its options. */
const settingsOf = <I, O, E, R>(options: Options<I, O, E, R>, workers: number): Settings<I, O, E, R> => ({
  run: options.run,
  workers,
  defaultTimeoutMs: Duration.toMillis(Duration.fromInputUnsafe(options.requestTimeout ?? "30 seconds")),
  drainTimeout: Duration.fromInputUnsafe(options.drainTimeout ?? "10 seconds"),
  costOf: options.cost,
  padded: options.batchCost === "padded",
  isolate: options.isolateFailures === true,
  lookaheadFactor: options.bucketing ? Math.max(1, options.bucketing.lookahead ?? 4) : 1,
  maxOvertakeMs: options.bucketing?.maxOvertakeMs ?? 50,
  feedWindow: options.feedWindow
})

/**
 * The pipeline, forked in `scope`: the queue's jobs, held back while the fast path and the
 * stream's batches hold every worker (what was taken meanwhile goes out with everything queued
 * when the gate opens), formed into batches, run on at most `workers` at once.
 */
const pipeline = <I, O, E, R>(e: Engine<I, O, E, R>, scope: Scope.Scope) => {
  const upstream = Effect.flatMap(Queue.takeAll(e.queue), (chunk) =>
    e.gate.isOpen()
      ? Effect.succeed(chunk)
      : Effect.andThen(
        e.gate.await,
        Effect.map(Queue.clear(e.queue), (rest) => rest.length === 0 ? chunk : Arr.appendAll(chunk, rest))
      ))
  return Stream.fromPull(Effect.succeed(upstream)).pipe(
    Stream.aggregateWithin(Formation.batchSink(e), Formation.waitSchedule(e)),
    Stream.mapEffect((batch) => runBatch(e, batch), { concurrency: e.settings.workers, unordered: true }),
    Stream.runDrain,
    Effect.forkIn(scope)
  )
}

/** Stops intake, drains within `drainTimeout`, then fails what remains with `ShuttingDown`. */
const shutdown = <I, O, E, R>(e: Engine<I, O, E, R>, consumer: Fiber.Fiber<void>) =>
  Effect.gen(function*() {
    e.accepting = false
    feed(e, e.now()) // large requests still feeding end now: their rest can no longer enter
    yield* Queue.end(e.queue)
    const finished = yield* Effect.andThen(Fiber.await(consumer), Fiber.awaitAll(e.fastFibers)).pipe(
      Effect.timeoutOption(e.settings.drainTimeout)
    )
    if (finished._tag === "None") {
      yield* Fiber.interrupt(consumer)
      yield* Fiber.interruptAll(e.fastFibers)
    }
    const now = e.now()
    const error = Exit.fail(new BatchError.ShuttingDown({ reason: "drain-timeout" }))
    const items = e.live.items
    for (let i = e.live.head; i < items.length; i++) settle(e, items[i]!, error, "shutdown", now)
    e.live.trim()
    e.flushOutcomes()
  })

/** The engine's point-in-time view. */
const snapshotOf = <I, O, E, R>(e: Engine<I, O, E, R>): Effect.Effect<BatcherSnapshot> =>
  Effect.gen(function*() {
    const { queuePolicy, sizePolicy, waitPolicy } = e.services
    const capacity = queuePolicy.capacity()
    return {
      queued: e.pending,
      capacity,
      overflow: e.overflow,
      workers: e.settings.workers,
      busyWorkers: e.busy,
      maxBatchSize: e.lastLimits.maxBatchSize,
      maxBatchCost: e.lastLimits.maxBatchCost,
      maxWaitMs: waitPolicy.maxWaitMs,
      arrivalRate: e.rates.ratePerMs * 1000,
      accepting: e.accepting,
      saturated: e.overflow === "reject" ? e.pending >= capacity * 0.9 : e.pending >= capacity,
      policies: {
        batchSize: yield* sizePolicy.describe,
        wait: yield* waitPolicy.describe,
        queue: yield* queuePolicy.describe
      }
    }
  })

/**
 * Creates the engine in the current scope. Reads the `BatchSizePolicy`, `WaitPolicy` and
 * `QueuePolicy` services.
 *
 * @example
 * ```ts
 * import { Batcher, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const batcher = yield* Batcher.make({ run: (xs: ReadonlyArray<number>) => Effect.succeed(xs.map((x) => x * 2)) })
 *   return yield* batcher.submit(21) // 42
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(Layer.mergeAll(
 *     BatchSizePolicy.fixed({ maxBatchSize: 32 }),
 *     WaitPolicy.none,
 *     QueuePolicy.layer({ capacity: 1024, overflow: "reject" })
 *   ))
 * )
 * ```
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
    const queue = yield* Queue.bounded<Job<I, O, E>, Cause.Done>(queuePolicy.maxCapacity)
    const services = { sizePolicy, waitPolicy, queuePolicy, clock, context, runContext }
    const e = new Engine(settingsOf(options, workers), services, queue, yield* sizePolicy.current)

    yield* Sweeper.fork(e, scope)
    const consumer = yield* pipeline(e, scope)
    e.update(Metrics.queueCapacity, queuePolicy.capacity())
    // Registered after the forks, so it runs before they are interrupted.
    yield* Effect.addFinalizer(() => shutdown(e, consumer))

    type Out<A> = Effect.Effect<A, E | BatchError.BatcherError>
    const submitJob = (input: I, o: SubmitOptions | undefined, shape: number) =>
      Effect.suspend(() => Admission.admitOne(e, input, o?.timeout, shape, o?.permit))
    return {
      submit: (input, o) => submitJob(input, o, PLAIN) as Out<O>,
      submitTimed: (input, o) => submitJob(input, o, TIMED) as Out<Timed<O>>,
      submitAll: (inputs, o) => Admission.submitAll(e, inputs, o?.timeout, o?.permit) as Out<Array<Timed<O>>>,
      precheck: (items, timeoutMs) => Admission.precheck(e, items, timeoutMs),
      admit: (items, timeoutMs) => Admission.admit(e, items, timeoutMs),
      snapshot: snapshotOf(e)
    } satisfies Batcher<I, O, E>
  })

/**
 * Picks the batch from a look-ahead window: the oldest request, then overdue ones, then those
 * closest in cost to the oldest, within the caps. Returns the rest in their original order.
 *
 * @since 0.1.0
 * @category internals
 */
export const select = Formation.select

/**
 * Builds a Layer for a service key whose shape is a `Batcher`. The policies come from the
 * context: provide a `BatchSizePolicy`, a `WaitPolicy` and a `QueuePolicy` layer.
 *
 * @example
 * ```ts
 * import { Batcher, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Squarer extends Context.Service<Squarer, Batcher.Batcher<number, number>>()("app/Squarer") {}
 *
 * const SquarerLive = Batcher.layer(Squarer, {
 *   run: (xs: ReadonlyArray<number>) => Effect.succeed(xs.map((x) => x * x)),
 *   workers: 2
 * }).pipe(Layer.provide(Layer.mergeAll(
 *   BatchSizePolicy.adaptive({ maxBatchSize: 64, targetLatencyMs: 50 }),
 *   WaitPolicy.adaptive({ maxWaitMs: 5 }),
 *   QueuePolicy.layer({ capacity: 1024, overflow: "backpressure" })
 * )))
 *
 * export const main = Effect.gen(function*() {
 *   const squarer = yield* Squarer
 *   return yield* squarer.submit(3) // 9
 * }).pipe(Effect.provide(SquarerLive))
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
