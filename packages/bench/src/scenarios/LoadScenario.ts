/**
 * Scenario `load`: latency against offered load, open loop, in process, on one shared model.
 * Requests arrive as a seeded Poisson process at a share of the measured capacity (the adaptive
 * system's closed-loop throughput on the same inputs, from the `systems` scenario of the same run,
 * or measured here first). Latency runs from each request's **planned** send time. Every window
 * has a warm-up (the first 25 % of its schedule, not counted). Interleaved: each repeat runs every
 * load level for every system before the next repeat.
 *
 * @since 0.1.0
 */
import * as Arrivals from "@adabatch/testkit/Arrivals"
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import type * as Core from "../Core.js"
import type { Env } from "../Env.js"
import type { InputKind } from "../Inputs.js"
import * as Systems from "../Systems.js"
import { concurrency as closedLoopConcurrency, type SystemsResult } from "./SystemsScenario.js"

/**
 * One window.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadWindow {
  readonly repeat: number
  readonly offered: number
  readonly throughput: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
  readonly meanBatchSize: number
  readonly rejected: number
  readonly errors: number
  readonly counted: number
  /** How late the generator sent requests (ms): P99 and max. */
  readonly lagP99Ms: number
  readonly lagMaxMs: number
  /** Every counted latency (ms, 0.01 ms resolution). */
  readonly latenciesMs: Array<number>
  readonly batchSizes: Array<number>
}

/**
 * One system at one load level on one input set.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadPoint {
  readonly system: string
  readonly input: InputKind
  /** % of capacity. */
  readonly level: number
  readonly windows: Array<LoadWindow>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadResult {
  /** Capacity (requests/s) per input set and how it was obtained. */
  readonly capacity: Array<{ readonly input: InputKind; readonly requestsPerSecond: number; readonly source: string }>
  readonly points: Array<LoadPoint>
}

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  loadSystems(env).length * env.options.loadInputs.length * env.options.loads.length * env.options.repeats *
  (env.options.loadSeconds * 1.25 + 0.3)

/**
 * The systems of the load curves: every system, but only one fixed variant (cap 32 if measured).
 *
 * @since 0.1.0
 * @category utils
 */
export const loadSystems = (env: Env): Array<string> => {
  const fixed = env.options.fixedSizes.includes(32) ? 32 : env.options.fixedSizes[0]
  return env.options.systems.flatMap((s) => (s === "fixed" ? (fixed === undefined ? [] : [`fixed-${fixed}`]) : [s]))
}

const round2 = (x: number) => Math.round(x * 100) / 100

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  env: Env,
  systemsResult: SystemsResult | undefined
): Effect.Effect<LoadResult, Core.ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const { loadSeconds, loads, repeats, seed } = env.options
    const recorder = Systems.makeRecorder()
    const wanted = new Set(loadSystems(env))
    const systems = (yield* Systems.make({
      model: env.inProcess!,
      recorder,
      names: env.options.systems,
      fixedSizes: env.options.fixedSizes.filter((n) => wanted.has(`fixed-${n}`)),
      fixedWaitMs: env.options.fixedWaitMs,
      workers: env.workers
    })).filter((s) => wanted.has(s.name))
    const capacity: Array<LoadResult["capacity"][number]> = []
    const points: Array<LoadPoint> = []
    for (const input of env.options.loadInputs) {
      const texts = env.inputs![input].texts
      const measured = systemsResult?.runs.find((r) => r.system === "adaptive" && r.input === input)
      let requestsPerSecond: number
      let source: string
      if (measured !== undefined) {
        requestsPerSecond = Stats.median(measured.throughput)
        source = "adaptive system, closed loop (systems scenario, median over repeats)"
      } else {
        const adaptive = systems.find((s) => s.name === "adaptive") ?? systems[0]!
        env.progress.step("load", `measuring capacity on ${input} inputs`, env.options.seconds + 0.5)
        const res = yield* Effect.promise(() =>
          Load.closedLoop({
            send: (i) => adaptive.embed(texts[i % texts.length]!),
            concurrency: closedLoopConcurrency,
            durationMs: env.options.seconds * 1000,
            warmupMs: 500
          })
        )
        requestsPerSecond = res.throughput
        source = `${adaptive.name} system, closed loop, measured by this scenario`
      }
      capacity.push({ input, requestsPerSecond, source })
      const rows = new Map<string, LoadPoint>()
      for (const level of loads) {
        for (const s of systems) rows.set(`${s.name}@${level}`, { system: s.name, input, level, windows: [] })
      }
      for (let r = 0; r < repeats; r++) {
        for (const level of loads) {
          const rate = (requestsPerSecond * level) / 100
          const durationMs = loadSeconds * 1000 * 1.25
          const warmupMs = loadSeconds * 1000 * 0.25
          // the same schedule for every system in this repeat and level
          const schedule = Arrivals.poisson({
            ratePerSecond: rate,
            durationMs,
            seed: seed * 1_000_003 + r * 1009 + level
          })
          for (const system of systems) {
            env.progress.step(
              "load",
              `${system.name}, ${input} inputs, ${level}% of ${Math.round(requestsPerSecond)}/s, repeat ${
                r + 1
              }/${repeats}`,
              loadSeconds * 1.25 + 0.3
            )
            recorder.drain()
            const res = yield* Effect.promise(() =>
              Load.openLoop({
                send: (i) => system.embed(texts[i % texts.length]!),
                schedule,
                warmupMs,
                drainTimeoutMs: 60_000
              })
            )
            const batches = recorder.drain()
            const d = Stats.distribution(res.latenciesMs)
            const lag = Stats.distribution(res.lagMs)
            const sizes = batches.map((b) => b.size)
            rows.get(`${system.name}@${level}`)!.windows.push({
              repeat: r,
              offered: rate,
              throughput: res.throughput,
              p50Ms: d.p50,
              p95Ms: d.p95,
              p99Ms: d.p99,
              meanBatchSize: Stats.mean(sizes),
              rejected: res.rejected,
              errors: res.errors,
              counted: res.counted,
              lagP99Ms: lag.p99,
              lagMaxMs: lag.max,
              latenciesMs: res.latenciesMs.map(round2),
              batchSizes: sizes
            })
          }
        }
      }
      points.push(...rows.values())
    }
    return { capacity, points }
  }))
