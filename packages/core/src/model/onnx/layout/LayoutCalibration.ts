/**
 * Measuring worker layouts on the actual model and machine: for each candidate `w x t`, build its
 * `w` workers (each with its own session of `t` intra-op threads), then
 *
 * - throughput at saturation: every worker runs batches back to back, all at once as in real
 *   serving (so the figure includes what the workers cost each other in shared caches and memory
 *   bandwidth), on a short-input batch and on a long-input batch; items/s are summed over the
 *   workers, each over the time it was busy;
 * - idle latency: the median time of a one-input batch sent while every worker is idle (a short
 *   pause before each, as a lone request meets the machine);
 * - memory: how much the process's RSS grew while the workers were built and warmed.
 *
 * Candidates are measured from the fewest workers up, one at a time (the previous one's workers
 * are closed first); once the memory one worker takes is known, candidates with more workers than
 * the memory budget allows are skipped.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import type { Encoded } from "../../EmbeddingModel.js"
import type { InferenceFailed } from "../../ModelError.js"
import { ModelLoadError } from "../../ModelError.js"
import type { Figures, Layout } from "./LayoutChoice.js"
import * as LayoutChoice from "./LayoutChoice.js"

/**
 * What the calibration needs of a pool of workers (`WorkerPool` has it).
 *
 * @since 0.1.0
 * @category models
 */
export interface CalibrationPool {
  readonly run: (
    batch: ReadonlyArray<Encoded>
  ) => Effect.Effect<{ readonly worker: number }, InferenceFailed>
}

/**
 * The batches and time budget of a calibration.
 *
 * @since 0.1.0
 * @category models
 */
export interface CalibrationSettings {
  /** A saturation-like batch of short inputs. */
  readonly short: ReadonlyArray<Encoded>
  /** A saturation-like batch of long inputs. */
  readonly long: ReadonlyArray<Encoded>
  /** One short input, for the idle latency. */
  readonly idle: Encoded
  /**
   * Measured time per batch shape, in ms: each worker runs at least 2 batches, and stops early
   * after 24.
   */
  readonly windowMs: number
  /** Single-input batches timed for the idle latency. */
  readonly idleRuns: number
  /** The pause before each of them, in ms. */
  readonly idleGapMs: number
}

/**
 * The result of a calibration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Calibration {
  readonly figures: ReadonlyArray<Figures>
  /** Candidates not measured because their workers would not fit in memory. */
  readonly skipped: ReadonlyArray<Layout>
  /** Memory one worker takes, in bytes (see `memoryPerWorker`). */
  readonly memoryPerWorkerBytes: number
  /** How long the whole calibration took, in ms. */
  readonly durationMs: number
}

const MIN_MEASURED_BATCHES = 2
/** Enough batches per worker to stop before `windowMs` (a small model's batches take a millisecond). */
const MAX_MEASURED_BATCHES = 24

const rss = () => process.memoryUsage.rss()

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const failed = (what: string, layout: Layout) => (error: InferenceFailed) =>
  new ModelLoadError({
    path: "worker layout calibration",
    reason: `a ${what} batch failed on layout ${LayoutChoice.label(layout)}: ${error.reason}`,
    cause: error
  })

/**
 * Items/s of `workers` workers running `batch` back to back, all at once: one warm-up batch per
 * worker, then `windowMs` (or 24 batches per worker, if sooner), at least 2 batches per worker;
 * each worker's items over the time from the start to its last batch's end, summed.
 *
 * @since 0.1.0
 * @category measuring
 */
export const saturate = (
  pool: CalibrationPool,
  workers: number,
  batch: ReadonlyArray<Encoded>,
  windowMs: number
): Effect.Effect<number, InferenceFailed> =>
  Effect.gen(function*() {
    const drivers = Array.from({ length: workers }, () => 0)
    // warm-up: all workers are idle, so each of these lands on a different one
    yield* Effect.forEach(drivers, () => pool.run(batch), { concurrency: "unbounded", discard: true })
    const items = new Map<number, number>()
    const last = new Map<number, number>()
    const start = performance.now()
    const drive = Effect.gen(function*() {
      for (
        let n = 0;
        n < MIN_MEASURED_BATCHES || (n < MAX_MEASURED_BATCHES && performance.now() - start < windowMs);
        n++
      ) {
        const out = yield* pool.run(batch)
        items.set(out.worker, (items.get(out.worker) ?? 0) + batch.length)
        last.set(out.worker, performance.now())
      }
    })
    yield* Effect.forEach(drivers, () => drive, { concurrency: "unbounded", discard: true })
    let total = 0
    for (const [worker, n] of items) total += (n * 1000) / Math.max(1e-3, last.get(worker)! - start)
    return total
  })

/**
 * The median time of `runs` single-input batches, each after an idle pause of `gapMs`.
 *
 * @since 0.1.0
 * @category measuring
 */
export const idleLatency = (
  pool: CalibrationPool,
  input: Encoded,
  runs: number,
  gapMs: number
): Effect.Effect<number, InferenceFailed> =>
  Effect.gen(function*() {
    yield* pool.run([input])
    const times: Array<number> = []
    for (let i = 0; i < runs; i++) {
      yield* Effect.sleep(gapMs)
      const t0 = performance.now()
      yield* pool.run([input])
      times.push(performance.now() - t0)
    }
    return median(times)
  })

/**
 * Builds one candidate's workers with `makePool`, measures it, and closes them.
 *
 * @since 0.1.0
 * @category measuring
 */
export const measureLayout = (
  layout: Layout,
  makePool: (layout: Layout) => Effect.Effect<CalibrationPool, ModelLoadError, Scope.Scope>,
  settings: CalibrationSettings
): Effect.Effect<Figures, ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const before = rss()
    const pool = yield* makePool(layout)
    const idleMs = yield* Effect.mapError(
      idleLatency(pool, settings.idle, settings.idleRuns, settings.idleGapMs),
      failed("single-input", layout)
    )
    const shortItemsPerSecond = yield* Effect.mapError(
      saturate(pool, layout.workers, settings.short, settings.windowMs),
      failed("short-input", layout)
    )
    const longItemsPerSecond = yield* Effect.mapError(
      saturate(pool, layout.workers, settings.long, settings.windowMs),
      failed("long-input", layout)
    )
    return { ...layout, shortItemsPerSecond, longItemsPerSecond, idleMs, rssGrowthBytes: Math.max(0, rss() - before) }
  }))

/**
 * Memory one worker takes, from the measured candidates: the largest RSS growth per worker among
 * them (the first candidate's also holds what the process loads once, such as onnxruntime's
 * library: an overestimate, on the safe side of a memory cap).
 *
 * @since 0.1.0
 * @category measuring
 */
export const memoryPerWorker = (figures: ReadonlyArray<Figures>): number =>
  Math.max(0, ...figures.map((f) => f.rssGrowthBytes / f.workers))

/**
 * Measures `layouts` (fewest workers first), skipping those whose workers would not fit in
 * `memoryBudgetBytes` once the memory of one worker is known.
 *
 * @since 0.1.0
 * @category measuring
 */
export const calibrate = (options: {
  readonly layouts: ReadonlyArray<Layout>
  readonly makePool: (layout: Layout) => Effect.Effect<CalibrationPool, ModelLoadError, Scope.Scope>
  readonly settings: CalibrationSettings
  readonly memoryBudgetBytes: number | undefined
}): Effect.Effect<Calibration, ModelLoadError> =>
  Effect.gen(function*() {
    const start = performance.now()
    const figures: Array<Figures> = []
    const skipped: Array<Layout> = []
    const ordered = [...options.layouts].sort((a, b) => a.workers - b.workers)
    for (const layout of ordered) {
      const maxWorkers = LayoutChoice.maxWorkersFor({
        memoryBudgetBytes: options.memoryBudgetBytes,
        memoryPerWorkerBytes: figures.length === 0 ? undefined : memoryPerWorker(figures)
      })
      if (layout.workers > maxWorkers && figures.length > 0) {
        skipped.push(layout)
        continue
      }
      const measured = yield* measureLayout(layout, options.makePool, options.settings)
      yield* Effect.logDebug(`worker layout calibration: ${LayoutChoice.describe(measured)}`)
      figures.push(measured)
    }
    return { figures, skipped, memoryPerWorkerBytes: memoryPerWorker(figures), durationMs: performance.now() - start }
  })
