/**
 * Scenario `systems`: every system's capacity, closed loop, in process, on one shared model.
 * For each input set, 64 concurrent callers (two batches' worth at the default cap of 32) send one text each, back to back; repeats are
 * interleaved (adaptive, fixed-N..., unbatched, original, tei, dataloader, adaptive, ...). Each
 * window records throughput, latency and every batch the system ran (sizes, padded tokens).
 *
 * @since 0.1.0
 */
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import type * as Core from "../Core.js"
import type { Env } from "../Env.js"
import type { InputKind } from "../Inputs.js"
import type { ModelCeilingError } from "../ModelCeiling.js"
import * as Systems from "../Systems.js"
import type { ModelResult } from "./ModelScenario.js"

/**
 * One system on one input set, over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemRun {
  readonly system: string
  readonly input: InputKind
  readonly throughput: Array<number>
  readonly p50Ms: Array<number>
  readonly p99Ms: Array<number>
  readonly failures: Array<number>
  /** Sizes of every batch run in the measured windows, per repeat. */
  readonly batchSizes: Array<Array<number>>
  /** Padded tokens of every batch, per repeat. */
  readonly batchTokens: Array<Array<number>>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemsResult {
  readonly concurrency: number
  readonly runs: Array<SystemRun>
  /**
   * Raw `session.run` at the best batch size for the input set's longest text, measured in each
   * repeat right before the systems (fixed-length sets only).
   */
  readonly raw: Array<{
    readonly input: InputKind
    readonly batch: number
    readonly seq: number
    readonly itemsPerSecond: Array<number>
  }>
}

/**
 * Closed-loop callers per window.
 *
 * @since 0.1.0
 * @category constants
 */
export const concurrency = 64
const warmupMs = 500

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  systemCount(env) * env.options.inputs.length * env.options.repeats * (env.options.seconds + warmupMs / 1000 + 0.3)

/**
 * How many systems the run compares (`fixed` counts once per cap).
 *
 * @since 0.1.0
 * @category utils
 */
export const systemCount = (env: Env): number =>
  env.options.systems.reduce((n, s) => n + (s === "fixed" ? env.options.fixedSizes.length : 1), 0)

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  env: Env,
  modelResult: ModelResult | undefined
): Effect.Effect<SystemsResult, Core.ModelLoadError | ModelCeilingError> =>
  Effect.scoped(Effect.gen(function*() {
    const recorder = Systems.makeRecorder()
    const systems = yield* Systems.make({
      model: env.inProcess!,
      recorder,
      names: env.options.systems,
      fixedSizes: env.options.fixedSizes,
      fixedWaitMs: env.options.fixedWaitMs,
      workers: env.workers
    })
    const runs: Array<SystemRun> = []
    const raws: Array<SystemsResult["raw"][number]> = []
    for (const input of env.options.inputs) {
      const set = env.inputs![input]
      const raw = input === "mix" || env.ceiling === undefined ? undefined : {
        input,
        batch: bestBatchFor(modelResult, set.maxTokens),
        seq: set.maxTokens,
        itemsPerSecond: [] as Array<number>
      }
      if (raw !== undefined) raws.push(raw)
      const rows = systems.map((s): SystemRun => ({
        system: s.name,
        input,
        throughput: [],
        p50Ms: [],
        p99Ms: [],
        failures: [],
        batchSizes: [],
        batchTokens: []
      }))
      for (let r = 0; r < env.options.repeats; r++) {
        if (raw !== undefined && env.ceiling !== undefined) {
          env.progress.step(
            "systems",
            `raw session.run, batch ${raw.batch} x seq ${raw.seq}`,
            env.options.seconds + 0.3
          )
          const m = yield* env.ceiling.measure({
            batch: raw.batch,
            seq: raw.seq,
            minMs: env.options.seconds * 1000,
            minRuns: 3,
            warmupRuns: 1
          })
          raw.itemsPerSecond.push(m.itemsPerSecond)
        }
        for (let k = 0; k < systems.length; k++) {
          const system = systems[k]!
          const row = rows[k]!
          env.progress.step(
            "systems",
            `${system.name}, ${input} inputs, repeat ${r + 1}/${env.options.repeats}`,
            env.options.seconds + warmupMs / 1000 + 0.3
          )
          const texts = set.texts
          let measuring = false
          const t0 = performance.now()
          const res = yield* Effect.promise(() =>
            Load.closedLoop({
              send: (i) => {
                if (!measuring && performance.now() - t0 >= warmupMs) {
                  measuring = true
                  recorder.drain()
                }
                return system.embed(texts[i % texts.length]!)
              },
              concurrency,
              durationMs: env.options.seconds * 1000,
              warmupMs
            })
          )
          const batches = recorder.drain()
          const d = Stats.distribution(res.latenciesMs)
          row.throughput.push(res.throughput)
          row.p50Ms.push(d.p50)
          row.p99Ms.push(d.p99)
          row.failures.push(res.errors + res.rejected)
          row.batchSizes.push(batches.map((b) => b.size))
          row.batchTokens.push(batches.map((b) => b.paddedTokens))
        }
      }
      runs.push(...rows)
    }
    return { concurrency, runs, raw: raws }
  }))

/**
 * The best raw batch size for sequences of about `seq` tokens: from the model ceiling curve of this
 * run (the measured length nearest to `seq`), else 32 up to 32 tokens and 8 above (the ceilings
 * measured on this machine class).
 *
 * @since 0.1.0
 * @category utils
 */
export const bestBatchFor = (modelResult: ModelResult | undefined, seq: number): number => {
  const best = modelResult?.best ?? []
  let nearest: (typeof best)[number] | undefined
  for (const b of best) {
    if (nearest === undefined || Math.abs(b.seq - seq) < Math.abs(nearest.seq - seq)) nearest = b
  }
  return nearest?.batch ?? (seq <= 32 ? 32 : 8)
}
