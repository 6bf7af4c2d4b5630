/**
 * The report's "1. Ceilings" heading and its first part, the model ceiling: raw `session.run`
 * items/s per batch size and sequence length, with the curve chart and where the adaptive system ran.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import * as Charts from "../Charts.js"
import type { Results } from "../Results.js"
import type { ModelResult } from "../scenarios/ModelScenario.js"
import { adaptiveChosen } from "./CeilingMarkers.js"
import type { Chart } from "./Chart.js"
import { num } from "./Format.js"

/**
 * The "1. Ceilings" heading, when any of the model, transport and engine scenarios ran (none otherwise).
 *
 * @since 0.1.0
 * @category formatting
 */
export const heading = (results: Results): Array<string> => {
  const s = results.scenarios
  return s.model !== undefined || s.transport !== undefined || s.engine !== undefined
    ? ["## 1. Ceilings", ""]
    : []
}

/** Items/s per sequence length (rows) and batch size (columns), the best per row in bold. */
const ceilingTable = (m: ModelResult): string => {
  const batches = [...new Set(m.points.map((p) => p.batch))].sort((a, b) => a - b)
  const seqs = [...new Set(m.points.map((p) => p.seq))].sort((a, b) => a - b)
  return table(
    ["seq \\ batch", ...batches.map(String)],
    seqs.map((seq) => [
      String(seq),
      ...batches.map((b) => {
        const p = m.points.find((x) => x.seq === seq && x.batch === b)
        if (p === undefined) return "-"
        const v = num(Stats.median(p.itemsPerSecond))
        return m.best.some((x) => x.seq === seq && x.batch === b) ? `**${v}**` : v
      })
    ])
  )
}

/**
 * The Markdown lines of the model ceiling, registering its chart with `chart`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (results: Results, m: ModelResult, chart: Chart): Array<string> => {
  const md: Array<string> = ["### Model ceiling: raw `session.run` in a worker thread", ""]
  md.push(
    `Items/s, median over repeats, ${m.intraOpNumThreads} intra-op threads, full attention mask, fetching ` +
      `${m.fetch.join(", ")}. The best batch size per sequence length is in bold.`,
    ""
  )
  md.push(ceilingTable(m), "")
  const chosen = adaptiveChosen(results)
  md.push(chart(
    "ceiling.svg",
    Charts.ceilingCurve(
      m.points.map((p) => {
        const sp = Stats.spread(p.itemsPerSecond)
        return { seq: `seq ${p.seq}`, batch: p.batch, itemsPerSecond: sp.median, low: sp.min, high: sp.max }
      }),
      chosen
    ),
    "Model ceiling curve"
  ))
  md.push("")
  if (chosen.length > 0) {
    md.push(
      "Markers: the mean batch size the adaptive system ran in the closed-loop comparison, on the ceiling line of " +
        "the nearest sequence length: " +
        chosen.map((c) => `${c.seq}: ${num(c.batch)}`).join(", ") + ".",
      ""
    )
  }
  return md
}
