/**
 * The policy simulator: the batching engine in front of a batch function that only sleeps for the
 * time a cost curve gives (`CostCurves`), and the loads that drive it. Everything reads time from
 * Effect's `Clock`, so the same code runs on the TestClock (fast and deterministic, in property
 * tests) or in real time (the bench's `policy` scenario, where the engine's own overhead counts).
 *
 * - {@link batchFunction}: `batch -> outputs` after `curve time x noise`;
 * - {@link engine}: `Batcher.make` over it with the Embedder's settings (padded-token cost,
 *   bucketing) and the given size policy;
 * - {@link closedLoop} / {@link openLoop}: `callers` back-to-back callers / Poisson arrivals,
 *   measured after a warm-up.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Clock, Duration, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as Batcher from "../batching/Batcher.js"
import * as BatchSizePolicy from "../batching/BatchSizePolicy.js"
import * as QueuePolicy from "../batching/QueuePolicy.js"
import * as WaitPolicy from "../batching/WaitPolicy.js"
import * as CostCurves from "./CostCurves.js"

/**
 * One simulated input: only its token count matters.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimItem {
  readonly tokens: number
}

/**
 * A seeded pseudo-random generator in [0, 1) (mulberry32).
 *
 * @since 0.1.0
 * @category utils
 */
export const random = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Options of the simulated batch function.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelOptions {
  /** One curve, or the curves of one machine at several token counts. */
  readonly curves: ReadonlyArray<CostCurves.Curve>
  /** Multiplicative noise: each batch takes `time x (1 + noise x u)`, `u` uniform in [-1, 1] (default 0.15). */
  readonly noise?: number | undefined
  /** Every batch takes `timeScale` times the curve's time (default 1). */
  readonly timeScale?: number | undefined
  readonly seed?: number | undefined
}

/**
 * The time (ms) a batch takes on the curves, padded to its longest item, before noise.
 *
 * @since 0.1.0
 * @category utils
 */
export const curveMs = (curves: ReadonlyArray<CostCurves.Curve>, batch: ReadonlyArray<SimItem>): number => {
  let longest = 0
  for (const item of batch) if (item.tokens > longest) longest = item.tokens
  return curves.length === 1
    ? CostCurves.batchMs(curves[0]!, batch.length)
    : CostCurves.batchMsAt(curves, batch.length, longest)
}

/**
 * A batch function that sleeps for the curve's time of the batch, with noise, and answers each
 * item with its token count.
 *
 * @since 0.1.0
 * @category constructors
 */
export const batchFunction = (
  options: ModelOptions
): (batch: ReadonlyArray<SimItem>) => Effect.Effect<ReadonlyArray<number>> => {
  const rand = random(options.seed ?? 1)
  const noise = options.noise ?? 0.15
  const scale = options.timeScale ?? 1
  return (batch) =>
    Effect.suspend(() => {
      const ms = curveMs(options.curves, batch) * scale * (1 + noise * (2 * rand() - 1))
      return Effect.as(Effect.sleep(Duration.millis(ms)), batch.map((x) => x.tokens))
    })
}

/**
 * Options of a simulated engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineOptions extends ModelOptions {
  readonly workers: number
  /** The size policy: `"adaptive"` (the server's, with `maxBatchSize`) or a fixed item cap. */
  readonly policy: "adaptive" | { readonly fixed: number }
  /** Hard item cap of the adaptive policy (default 128). */
  readonly maxBatchSize?: number | undefined
  /** Padded-token budget (default 16384, the server's). */
  readonly maxBatchTokens?: number | undefined
  /** Wait policy (default: the server's, adaptive up to 5 ms). */
  readonly wait?: Layer.Layer<WaitPolicy.WaitPolicy> | undefined
}

/**
 * The size policy Layer that `options.policy` names.
 *
 * @since 0.1.0
 * @category layers
 */
export const sizePolicy = (options: EngineOptions): Layer.Layer<BatchSizePolicy.BatchSizePolicy> => {
  const maxBatchCost = options.maxBatchTokens ?? 16384
  return options.policy === "adaptive"
    ? BatchSizePolicy.adaptive({ maxBatchSize: options.maxBatchSize ?? 128, maxBatchCost })
    : BatchSizePolicy.fixed({ maxBatchSize: options.policy.fixed, maxBatchCost })
}

/**
 * The engine over the simulated batch function, set up like the Embedder's (cost = tokens,
 * padded batches, bucketing), with an unbounded-enough queue and no request timeout to speak of.
 *
 * @since 0.1.0
 * @category constructors
 */
export const engine = (
  options: EngineOptions
): Effect.Effect<Batcher.Batcher<SimItem, number>, never, Scope.Scope> =>
  Batcher.make<SimItem, number>({
    run: batchFunction(options),
    workers: options.workers,
    cost: (x) => x.tokens,
    batchCost: "padded",
    requestTimeout: "1 hour",
    drainTimeout: 0,
    bucketing: { lookahead: 4, maxOvertakeMs: 20 }
  }).pipe(
    Effect.provide(Layer.mergeAll(
      sizePolicy(options),
      options.wait ?? WaitPolicy.adaptive({ maxWaitMs: 5 }),
      QueuePolicy.layer({ capacity: 1 << 16, overflow: "backpressure" })
    ))
  )

/**
 * What a load window measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadStats {
  /** Answers per second of clock time in the measured window. */
  readonly throughput: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Answers in the window. */
  readonly completed: number
}

/**
 * Options common to both loads.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  readonly submit: (item: SimItem) => Effect.Effect<unknown, unknown>
  /** The `i`-th input. */
  readonly item: (i: number) => SimItem
  readonly warmupMs: number
  readonly durationMs: number
}

const nowMs = Effect.map(Clock.currentTimeNanos, (n) => Number(n) / 1e6)

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** Collects the answers completed inside the measured window. */
const window = (start: number, end: number) => {
  const latencies: Array<number> = []
  return {
    record: (sentAt: number, doneAt: number) => {
      if (doneAt >= start && doneAt < end) latencies.push(doneAt - sentAt)
    },
    stats: (): LoadStats => {
      const sorted = latencies.slice().sort((a, b) => a - b)
      return {
        throughput: (latencies.length * 1000) / (end - start),
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        completed: latencies.length
      }
    }
  }
}

/**
 * `callers` callers, each submitting its next input as soon as the previous one is answered.
 *
 * @since 0.1.0
 * @category loads
 */
export const closedLoop = (
  options: LoadOptions & {
    readonly callers: number
    /** Each caller pauses a uniformly random 0..`thinkMs` before its next input (default 0). */
    readonly thinkMs?: number | undefined
    readonly seed?: number | undefined
  }
): Effect.Effect<LoadStats> =>
  Effect.gen(function*() {
    const rand = random(options.seed ?? 11)
    const think = options.thinkMs ?? 0
    const t0 = yield* nowMs
    const w = window(t0 + options.warmupMs, t0 + options.warmupMs + options.durationMs)
    let next = 0
    const caller = Effect.gen(function*() {
      while (true) {
        const sentAt = yield* nowMs
        yield* Effect.exit(options.submit(options.item(next++)))
        w.record(sentAt, yield* nowMs)
        if (think > 0) yield* Effect.sleep(Duration.millis(think * rand()))
      }
    })
    const fibers: Array<Fiber.Fiber<unknown>> = []
    for (let i = 0; i < options.callers; i++) fibers.push(yield* Effect.forkChild(caller))
    yield* Effect.sleep(Duration.millis(options.warmupMs + options.durationMs))
    yield* Fiber.interruptAll(fibers)
    return w.stats()
  })

/**
 * Poisson arrivals at `ratePerSecond` (seeded); latency counts from each planned arrival time.
 *
 * @since 0.1.0
 * @category loads
 */
export const openLoop = (
  options: LoadOptions & { readonly ratePerSecond: number; readonly seed?: number | undefined }
): Effect.Effect<LoadStats> =>
  Effect.gen(function*() {
    const rand = random(options.seed ?? 7)
    const t0 = yield* nowMs
    const end = t0 + options.warmupMs + options.durationMs
    const w = window(t0 + options.warmupMs, end)
    const fibers = new Set<Fiber.Fiber<unknown>>()
    const send = (i: number, plannedAt: number) =>
      Effect.gen(function*() {
        yield* Effect.exit(options.submit(options.item(i)))
        w.record(plannedAt, yield* nowMs)
      })
    let planned = t0
    for (let i = 0; planned < end; i++) {
      planned += (-Math.log(1 - rand()) * 1000) / options.ratePerSecond
      const now = yield* nowMs
      if (planned > now) yield* Effect.sleep(Duration.millis(planned - now))
      const fiber = yield* Effect.forkChild(send(i, planned))
      fibers.add(fiber)
      fiber.addObserver(() => fibers.delete(fiber))
    }
    yield* Fiber.interruptAll([...fibers])
    return w.stats()
  })

/**
 * Runs `effect` on a fresh TestClock, advancing the clock `stepMs` at a time until the effect
 * completes: simulated time costs nothing but the events that happen in it. The clock waits up to
 * a minute of real time for the fibers each step wakes (a loaded machine must not change the
 * outcome).
 *
 * @since 0.1.0
 * @category runners
 */
export const onTestClock = <A, E>(
  effect: Effect.Effect<A, E, Scope.Scope>,
  stepMs = 1000
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.scoped(effect))
    while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(Duration.millis(stepMs))
    return yield* Fiber.join(fiber)
  }).pipe(Effect.provide(TestClock.layer({ warningDelay: "1 minute" })))
