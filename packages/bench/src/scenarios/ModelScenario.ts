/**
 * Scenario `model`: the model ceiling curve, raw `session.run` items/s in a worker thread for each
 * batch size and sequence length. Repeats are interleaved: every repeat sweeps the whole grid.
 *
 * @since 0.1.0
 */
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import type { Env } from "../Env.js"
import type { ModelCeilingError } from "../ModelCeiling.js"

/**
 * One grid point over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface PointResult {
  readonly batch: number
  readonly seq: number
  /** Items per second, per repeat. */
  readonly itemsPerSecond: Array<number>
  /** Median call time (ms), per repeat. */
  readonly medianMs: Array<number>
  /** Every call time (ms), per repeat. */
  readonly timesMs: Array<Array<number>>
}

/**
 * The best batch size for one sequence length.
 *
 * @since 0.1.0
 * @category models
 */
export interface BestPoint {
  readonly seq: number
  readonly batch: number
  /** Items per second at that batch size over the repeats. */
  readonly itemsPerSecond: Stats.Spread
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelResult {
  readonly onnxPath: string
  readonly intraOpNumThreads: number
  readonly fetch: ReadonlyArray<string>
  readonly points: Array<PointResult>
  readonly best: Array<BestPoint>
}

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  env.options.repeats * env.options.seqs.length * env.options.batches.length * pointMs(env) / 1000 * 1.6

const pointMs = (env: Env) => Math.max(150, (env.options.seconds * 1000) / 3)

/**
 * The best batch size (by median items/s over repeats) for each sequence length.
 *
 * @since 0.1.0
 * @category utils
 */
export const bestPoints = (points: ReadonlyArray<PointResult>): Array<BestPoint> => {
  const seqs = [...new Set(points.map((p) => p.seq))].sort((a, b) => a - b)
  return seqs.flatMap((seq) => {
    let best: PointResult | undefined
    for (const p of points) {
      if (p.seq !== seq) continue
      if (best === undefined || Stats.median(p.itemsPerSecond) > Stats.median(best.itemsPerSecond)) best = p
    }
    return best === undefined ? [] : [{ seq, batch: best.batch, itemsPerSecond: Stats.spread(best.itemsPerSecond) }]
  })
}

/**
 * Runs the scenario (`undefined` for the echo model, which has no ONNX ceiling).
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<ModelResult | undefined, ModelCeilingError> =>
  Effect.gen(function*() {
    const ceiling = env.ceiling
    if (ceiling === undefined || env.model.onnxPath === undefined) return undefined
    const { batches, repeats, seqs } = env.options
    const points: Array<PointResult> = []
    for (const seq of seqs) {
      for (const batch of batches) points.push({ batch, seq, itemsPerSecond: [], medianMs: [], timesMs: [] })
    }
    const ms = pointMs(env)
    for (let r = 0; r < repeats; r++) {
      for (const p of points) {
        env.progress.step(
          "model ceiling",
          `batch ${p.batch} x seq ${p.seq}, repeat ${r + 1}/${repeats}`,
          ms / 1000 * 1.6
        )
        const m = yield* ceiling.measure({ batch: p.batch, seq: p.seq, minMs: ms, minRuns: 2, warmupRuns: 1 })
        p.itemsPerSecond.push(m.itemsPerSecond)
        p.medianMs.push(m.medianMs)
        p.timesMs.push([...m.timesMs])
      }
    }
    return {
      onnxPath: env.model.onnxPath,
      intraOpNumThreads: env.intraOpNumThreads,
      fetch: ceiling.fetch,
      points,
      best: bestPoints(points)
    }
  })
