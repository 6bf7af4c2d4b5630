/**
 * Scenario `policy`: the adaptive batch-size policy against fixed item caps on the policy
 * simulator (`@adabatch/core/testing`'s `Simulator` and `PolicyComparison`), **in real time**: the
 * engine's own overhead and the timers count, as in a server. For every cost curve (the measured
 * ones of issue #13 and the synthetic shapes) and 1 and 4 workers: 256 closed-loop callers,
 * fixed caps 4..128 and the adaptive policy (item cap 128, padded-token budget 16384, the
 * server's adaptive wait for all), then Poisson arrivals at 50 % of the best fixed cap's
 * throughput for the adaptive policy and that cap.
 *
 * Each curve runs faster or slower than measured (`timeScale`) so that a batch of 128 takes about
 * `roundMs` and the whole engine stays under about 20,000 inputs per second; the ratios do not
 * depend on the scale, the absolute figures do.
 *
 * @since 0.1.0
 */
import { CostCurves, PolicyComparison } from "@adabatch/core/testing"
import { Effect } from "effect"
import type { Env } from "../Env.js"

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyResult {
  readonly callers: number
  readonly noise: number
  readonly cases: Array<PolicyComparison.CaseResult>
}

/**
 * Worker counts compared.
 *
 * @since 0.1.0
 * @category constants
 */
export const workerCounts: ReadonlyArray<number> = [1, 4]

const callers = 256
const noise = 0.15
const maxItemsPerSecond = 20_000

/** Rounds (batches of 128 on the curve) per window, by preset. */
const rounds = (env: Env) =>
  env.options.preset === "smoke"
    ? { warmup: 10, measure: 5, roundMs: 5 }
    : env.options.preset === "full"
    ? { warmup: 150, measure: 75, roundMs: 14 }
    : { warmup: 100, measure: 50, roundMs: 12 }

/**
 * The time scale for one curve: a batch of 128 takes `roundMs`, and the engine runs at most
 * 20,000 inputs per second at the curve's best rate.
 *
 * @since 0.1.0
 * @category utils
 */
export const timeScaleFor = (curve: CostCurves.Curve, workers: number, roundMs: number): number => {
  const byRound = roundMs / CostCurves.batchMs(curve, 128)
  const byRate = (workers * CostCurves.best(curve).itemsPerSecond) / maxItemsPerSecond
  return Math.max(byRound, byRate)
}

const curvesOf = (env: Env) => (env.options.preset === "smoke" ? [CostCurves.curves[0]!] : CostCurves.curves)

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number => {
  const r = rounds(env)
  let total = 0
  for (const curve of curvesOf(env)) {
    for (const workers of workerCounts) {
      const round = CostCurves.batchMs(curve, 128) * timeScaleFor(curve, workers, r.roundMs) / 1000
      const runs = PolicyComparison.defaultCaps.length + 1
      total += runs * (r.warmup + r.measure) * round + 2 * 2 * r.measure * round
    }
  }
  return total
}

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<PolicyResult> =>
  Effect.gen(function*() {
    const r = rounds(env)
    const cases: Array<PolicyComparison.CaseResult> = []
    for (const curve of curvesOf(env)) {
      for (const workers of workerCounts) {
        const timeScale = timeScaleFor(curve, workers, r.roundMs)
        const round = CostCurves.batchMs(curve, 128) * timeScale / 1000
        const runs = PolicyComparison.defaultCaps.length + 1
        env.progress.step(
          "policy",
          `${curve.name}, ${workers} worker(s)`,
          runs * (r.warmup + r.measure) * round + 4 * r.measure * round
        )
        cases.push(
          yield* Effect.scoped(PolicyComparison.compare({
            curve,
            workers,
            callers,
            noise,
            seed: env.options.seed,
            timeScale,
            warmupRounds: r.warmup,
            measureRounds: r.measure,
            halfWarmupRounds: r.measure,
            halfMeasureRounds: r.measure
          }))
        )
      }
    }
    return { callers, noise, cases }
  })
