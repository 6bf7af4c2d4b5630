/**
 * Where the adaptive system ran on the model's ceiling curve: the markers of the ceiling chart.
 *
 * @since 0.1.0
 */
import * as Stats from "@adabatch/testkit/Stats"
import type { Results } from "../Results.js"
import type { PointResult } from "../scenarios/ModelScenario.js"

/**
 * One marker: the mean batch size the adaptive system ran, and the ceiling's items/s there.
 *
 * @since 0.1.0
 * @category models
 */
export interface Marker {
  readonly seq: string
  readonly batch: number
  readonly itemsPerSecond: number
}

/** Interpolates the ceiling line (sorted by batch size) at `batch`, on a log2 scale. */
const interpolate = (line: ReadonlyArray<PointResult>, batch: number): number => {
  let y = Number.NaN
  for (let i = 0; i < line.length; i++) {
    const p = line[i]!
    const q = line[i + 1]
    if (q === undefined || batch <= p.batch) {
      y = Stats.median(p.itemsPerSecond)
      if (q === undefined || batch <= p.batch) break
    }
    if (batch > p.batch && batch <= q.batch) {
      const f = (Math.log2(batch) - Math.log2(p.batch)) / (Math.log2(q.batch) - Math.log2(p.batch))
      y = Stats.median(p.itemsPerSecond) + f * (Stats.median(q.itemsPerSecond) - Stats.median(p.itemsPerSecond))
      break
    }
  }
  return y
}

/**
 * The mean batch size the adaptive system ran per fixed-length input set, placed on the ceiling
 * line of the nearest sequence length.
 *
 * @since 0.1.0
 * @category constructors
 */
export const adaptiveChosen = (results: Results): Array<Marker> => {
  const model = results.scenarios.model
  const systems = results.scenarios.systems
  if (model === undefined || systems === undefined) return []
  const seqs = [...new Set(model.points.map((p) => p.seq))]
  return systems.runs.filter((r) => r.system === "adaptive" && r.input !== "mix").flatMap((r) => {
    const set = results.inputs.find((i) => i.kind === r.input)
    if (set === undefined || seqs.length === 0) return []
    const seq = seqs.reduce((a, b) => (Math.abs(b - set.maxTokens) < Math.abs(a - set.maxTokens) ? b : a))
    const batch = Stats.mean(r.batchSizes.flat())
    if (!Number.isFinite(batch)) return []
    const line = model.points.filter((p) => p.seq === seq).sort((a, b) => a.batch - b.batch)
    return [{ seq: `seq ${seq}`, batch, itemsPerSecond: interpolate(line, batch) }]
  })
}
