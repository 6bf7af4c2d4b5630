/**
 * The policy simulator's experiment: the adaptive batch-size policy against fixed item caps on one
 * cost curve and one worker count, each on a fresh simulated engine (`Simulator`), under the
 * clock in force (TestClock in tests, real time in the bench).
 *
 * - **saturation**: `callers` closed-loop callers (256, as in issue #13), after a warm-up; the
 *   best fixed cap is the one with the highest throughput;
 * - **half load**: Poisson arrivals at 50 % of that best throughput, for the adaptive policy and
 *   the best fixed cap: their median latencies.
 *
 * Windows are counted in rounds, one round being the time of a batch of 128 on the curve (x the
 * time scale): a slow curve gets as many batches to learn from as a fast one.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import * as CostCurves from "./CostCurves.js"
import * as Simulator from "./Simulator.js"

/**
 * One experiment's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface CaseOptions {
  readonly curve: CostCurves.Curve
  readonly workers: number
  /** Closed-loop callers at saturation (default 256). */
  readonly callers?: number | undefined
  /** Fixed item caps to compare with (default 4, 8, 16, 32, 64, 128). */
  readonly caps?: ReadonlyArray<number> | undefined
  /** Multiplicative batch-time noise (default 0.15). */
  readonly noise?: number | undefined
  readonly seed?: number | undefined
  /** Every batch takes this many times the curve's time (default 1). */
  readonly timeScale?: number | undefined
  /**
   * Each closed-loop caller pauses a random 0..`thinkRounds` rounds before its next request, as a
   * client on a network does (default 0.01): callers answered by one batch do not all come back
   * in the same instant.
   */
  readonly thinkRounds?: number | undefined
  /** Warm-up and measured rounds at saturation (default 100 and 50). */
  readonly warmupRounds?: number | undefined
  readonly measureRounds?: number | undefined
  /** Warm-up and measured rounds at half load (default 50 and 50). */
  readonly halfWarmupRounds?: number | undefined
  readonly halfMeasureRounds?: number | undefined
}

/**
 * What one policy measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyStats {
  /** `adaptive` or `fixed-N`. */
  readonly policy: string
  readonly throughput: number
  readonly p50Ms: number
}

/**
 * One experiment's outcome.
 *
 * @since 0.1.0
 * @category models
 */
export interface CaseResult {
  readonly curve: string
  readonly workers: number
  readonly callers: number
  readonly timeScale: number
  readonly fixed: ReadonlyArray<PolicyStats & { readonly cap: number }>
  readonly adaptive: PolicyStats
  /** The fixed cap with the highest throughput at saturation. */
  readonly best: PolicyStats & { readonly cap: number }
  /** Adaptive / best fixed throughput at saturation. */
  readonly ratio: number
  readonly half: {
    readonly ratePerSecond: number
    readonly adaptive: PolicyStats
    readonly best: PolicyStats
    /** Adaptive / best fixed median latency. */
    readonly p50Ratio: number
  }
}

/**
 * The default fixed caps.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCaps: ReadonlyArray<number> = [4, 8, 16, 32, 64, 128]

/**
 * The fixed cap the curve predicts to be best at saturation: with `callers` inputs shared among
 * `workers` workers each batch holds `min(cap, callers / workers)`, and the throughput is the
 * workers' count times the curve's rate at that size.
 *
 * @since 0.1.0
 * @category utils
 */
export const predictedBestCap = (
  curve: CostCurves.Curve,
  workers: number,
  callers: number,
  caps: ReadonlyArray<number> = defaultCaps
): number => {
  let best = caps[0]!
  let bestRate = 0
  for (const cap of caps) {
    const size = Math.max(1, Math.min(cap, Math.ceil(callers / workers)))
    const rate = workers * CostCurves.itemsPerSecond(curve, size)
    if (rate > bestRate * 1.0001) {
      best = cap
      bestRate = rate
    }
  }
  return best
}

type Policy = "adaptive" | { readonly fixed: number }

const nameOf = (policy: Policy) => (policy === "adaptive" ? "adaptive" : `fixed-${policy.fixed}`)

const roundMs = (options: CaseOptions) => CostCurves.batchMs(options.curve, 128) * (options.timeScale ?? 1)

const engineFor = (options: CaseOptions, policy: Policy) =>
  Simulator.engine({
    curves: [options.curve],
    workers: options.workers,
    policy,
    noise: options.noise,
    seed: options.seed,
    timeScale: options.timeScale
  })

const item = (options: CaseOptions) => {
  const x: Simulator.SimItem = { tokens: options.curve.tokens }
  return () => x
}

/**
 * One policy at saturation.
 *
 * @since 0.1.0
 * @category experiments
 */
export const saturation = (options: CaseOptions, policy: Policy): Effect.Effect<PolicyStats> =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* engineFor(options, policy)
    const round = roundMs(options)
    const stats = yield* Simulator.closedLoop({
      submit: engine.submit,
      item: item(options),
      callers: options.callers ?? 256,
      thinkMs: round * (options.thinkRounds ?? 0.01),
      seed: options.seed,
      warmupMs: round * (options.warmupRounds ?? 100),
      durationMs: round * (options.measureRounds ?? 50)
    })
    return { policy: nameOf(policy), throughput: stats.throughput, p50Ms: stats.p50Ms }
  }))

/**
 * One policy under Poisson arrivals at `ratePerSecond`.
 *
 * @since 0.1.0
 * @category experiments
 */
export const openLoad = (options: CaseOptions, policy: Policy, ratePerSecond: number): Effect.Effect<PolicyStats> =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* engineFor(options, policy)
    const round = roundMs(options)
    const stats = yield* Simulator.openLoop({
      submit: engine.submit,
      item: item(options),
      ratePerSecond,
      seed: options.seed,
      warmupMs: round * (options.halfWarmupRounds ?? 50),
      durationMs: round * (options.halfMeasureRounds ?? 50)
    })
    return { policy: nameOf(policy), throughput: stats.throughput, p50Ms: stats.p50Ms }
  }))

/**
 * The whole experiment for one curve and worker count, one engine after the other.
 *
 * @since 0.1.0
 * @category experiments
 */
export const compare = (options: CaseOptions): Effect.Effect<CaseResult, never, Scope.Scope> =>
  Effect.gen(function*() {
    const caps = options.caps ?? defaultCaps
    const fixed: Array<PolicyStats & { readonly cap: number }> = []
    for (const cap of caps) fixed.push({ ...(yield* saturation(options, { fixed: cap })), cap })
    const adaptive = yield* saturation(options, "adaptive")
    const best = fixed.reduce((a, b) => (b.throughput > a.throughput ? b : a))
    const ratePerSecond = best.throughput / 2
    const halfBest = yield* openLoad(options, { fixed: best.cap }, ratePerSecond)
    const halfAdaptive = yield* openLoad(options, "adaptive", ratePerSecond)
    return {
      curve: options.curve.name,
      workers: options.workers,
      callers: options.callers ?? 256,
      timeScale: options.timeScale ?? 1,
      fixed,
      adaptive,
      best,
      ratio: adaptive.throughput / best.throughput,
      half: {
        ratePerSecond,
        adaptive: halfAdaptive,
        best: halfBest,
        p50Ratio: halfAdaptive.p50Ms / halfBest.p50Ms
      }
    }
  })
