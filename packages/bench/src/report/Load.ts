/**
 * The report's section 4, latency against offered load in an open loop (one table, generator
 * check and chart per input set), and the headline rows of the baselines' P99 against the adaptive
 * system's at the highest load below capacity.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import * as Charts from "../Charts.js"
import type { LoadPoint, LoadResult } from "../scenarios/LoadScenario.js"
import type { Headline } from "../Summary.js"
import type { Chart } from "./Chart.js"
import { num } from "./Format.js"
import { atLeast } from "./Goal.js"

/** One cell: P50 / P99, throughput, mean batch size and failures of one system at one level. */
const cell = (p: LoadPoint): string => {
  const w = p.windows
  const fails = w.reduce((a, b) => a + b.rejected + b.errors, 0)
  return `${num(Stats.median(w.map((x) => x.p50Ms)))} / ${num(Stats.median(w.map((x) => x.p99Ms)))} ms, ` +
    `${num(Stats.median(w.map((x) => x.throughput)))}/s, b ${num(Stats.median(w.map((x) => x.meanBatchSize)))}` +
    (fails > 0 ? `, ${fails} failed` : "")
}

/** Systems (rows) by load level (columns). */
const levelTable = (points: ReadonlyArray<LoadPoint>): string => {
  const levels = [...new Set(points.map((p) => p.level))].sort((a, b) => a - b)
  const systems = [...new Set(points.map((p) => p.system))]
  return table(
    ["system", ...levels.map((lv) => `${lv} %`)],
    systems.map((sys) => [
      sys,
      ...levels.map((lv) => {
        const p = points.find((x) => x.system === sys && x.level === lv)
        return p === undefined ? "-" : cell(p)
      })
    ])
  )
}

/** How far behind its plan the generator sent, worst and median window (none without lag figures). */
const generatorCheck = (points: ReadonlyArray<LoadPoint>): Array<string> => {
  const lags = points.flatMap((p) => p.windows.map((w) => w.lagP99Ms)).filter(Number.isFinite)
  if (lags.length === 0) return []
  return [
    `Generator check: in every window the generator sent 99 % of its requests within ` +
    `${num(Math.max(...lags))} ms of their planned time (worst window; median window ${num(Stats.median(lags))} ms).`,
    ""
  ]
}

const curve = (points: ReadonlyArray<LoadPoint>): Array<Charts.LatencyPoint> =>
  points.flatMap((p) => [
    {
      system: p.system,
      level: p.level,
      percentile: "P50" as const,
      latencyMs: Stats.median(p.windows.map((w) => w.p50Ms))
    },
    {
      system: p.system,
      level: p.level,
      percentile: "P99" as const,
      latencyMs: Stats.median(p.windows.map((w) => w.p99Ms))
    }
  ])

/**
 * The Markdown lines of the section, registering one chart per input set with `chart`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (l: LoadResult, chart: Chart): Array<string> => {
  const md: Array<string> = ["## 4. Latency vs offered load, open loop", ""]
  md.push(
    "Poisson arrivals at a share of the measured capacity, in process, one text per request; latency from the " +
      "planned send time. Cells: P50 / P99 latency (ms), throughput (req/s), mean batch size, rejected + failed.",
    ""
  )
  for (const c of l.capacity) {
    md.push(`**${c.input} inputs**: capacity ${num(c.requestsPerSecond)} req/s (${c.source}).`, "")
    const points = l.points.filter((p) => p.input === c.input)
    md.push(levelTable(points), "")
    md.push(...generatorCheck(points))
    md.push(chart(
      `load-${c.input}.svg`,
      Charts.latencyVsLoad(`Latency vs offered load, ${c.input} inputs (solid P50, dashed P99)`, curve(points)),
      `Latency vs load, ${c.input} inputs`
    ))
    md.push("")
  }
  return md
}

/**
 * The headline rows: TEI-style and original-algorithm P99 over the adaptive system's P99 at the
 * highest load level below 100 %, per input set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (load: LoadResult): Array<Headline> =>
  [...new Set(load.points.map((p) => p.input))].flatMap((input) => {
    const levels = [...new Set(load.points.filter((p) => p.input === input).map((p) => p.level))]
      .filter((l) => l < 100)
    const level = levels.length === 0 ? undefined : Math.max(...levels)
    if (level === undefined) return []
    const at = (system: string) =>
      load.points.find((p) => p.input === input && p.level === level && p.system === system)
    const adaptive = at("adaptive")
    if (adaptive === undefined) return []
    return ["tei", "original"].flatMap((other): Array<Headline> => {
      const o = at(other)
      if (o === undefined) return []
      const value = Stats.ratioSpread(o.windows.map((w) => w.p99Ms), adaptive.windows.map((w) => w.p99Ms))
      return [{
        label: `${
          other === "tei" ? "TEI-style" : "Original algorithm"
        } P99 / adaptive P99 at ${level} % load, ${input} inputs`,
        value,
        unit: "x",
        goal: ">= 1.0x",
        met: atLeast(value, 0.98),
        how: "open loop, Poisson arrivals, latency from the planned send time (> 1: adaptive is faster)"
      }]
    })
  })
