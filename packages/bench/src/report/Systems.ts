/**
 * The report's section 3, systems compared in a closed loop (one table per input set, the
 * throughput and batch-size charts), and the headline rows of the adaptive system against the raw
 * ceiling, the best fixed cap, TEI's strategy and the original algorithm.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import * as Charts from "../Charts.js"
import type { Results } from "../Results.js"
import type { SystemsResult } from "../scenarios/SystemsScenario.js"
import type { Headline } from "../Summary.js"
import type { Chart } from "./Chart.js"
import { num, spread } from "./Format.js"
import { atLeast } from "./Goal.js"

/** The table of one input set: each system, then the raw `session.run` ceiling when measured. */
const inputTable = (y: SystemsResult, input: string): string => {
  const rows = y.runs.filter((r) => r.input === input)
  const adaptive = rows.find((r) => r.system === "adaptive")
  const raw = y.raw.find((r) => r.input === input)
  return table(
    ["system", "req/s", "adaptive / this", "P50", "P99", "mean batch", "failures"],
    [
      ...rows.map((r) => {
        const sizes = r.batchSizes.flat()
        return [
          r.system,
          spread(Stats.spread(r.throughput)),
          adaptive === undefined || r === adaptive
            ? "-"
            : spread(Stats.ratioSpread(adaptive.throughput, r.throughput), "x"),
          num(Stats.median(r.p50Ms)),
          num(Stats.median(r.p99Ms)),
          num(Stats.mean(sizes)),
          String(r.failures.reduce((a, b) => a + b, 0))
        ]
      }),
      ...(raw === undefined ? [] : [[
        `raw session.run (batch ${raw.batch} x seq ${raw.seq})`,
        spread(Stats.spread(raw.itemsPerSecond)),
        adaptive === undefined ? "-" : spread(Stats.ratioSpread(adaptive.throughput, raw.itemsPerSecond), "x"),
        "-",
        "-",
        String(raw.batch),
        "-"
      ]])
    ]
  )
}

/** The two charts: throughput per system, and the batch-size distribution of one input set. */
const charts = (y: SystemsResult, chart: Chart): Array<string> => {
  const md: Array<string> = []
  md.push(chart(
    "systems.svg",
    Charts.systemsThroughput(
      `Closed-loop throughput per system (${y.concurrency} callers; bar: median, rule: min-max over repeats)`,
      y.runs.map((r) => {
        const sp = Stats.spread(r.throughput)
        return { system: r.system, input: r.input, median: sp.median, min: sp.min, max: sp.max }
      })
    ),
    "Closed-loop throughput per system"
  ))
  md.push("")
  const input = y.runs.some((r) => r.input === "mix") ? "mix" : y.runs[0]?.input
  const dist = y.runs.filter((r) => r.input === input).flatMap((r) => {
    const sizes = r.batchSizes.flat()
    return Stats.histogram(sizes).map((h) => ({ system: r.system, size: h.value, share: h.count / sizes.length }))
  })
  md.push(chart(
    "batch-sizes.svg",
    Charts.batchSizeDistribution(`Batch-size distribution, closed loop, ${input} inputs`, dist),
    "Batch-size distribution"
  ))
  md.push("")
  return md
}

/**
 * The Markdown lines of the section, registering its charts with `chart`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (results: Results, y: SystemsResult, chart: Chart): Array<string> => {
  const md: Array<string> = ["## 3. Systems compared, closed loop", ""]
  md.push(
    `${y.concurrency} concurrent callers, one text per request, in process on one shared model. Throughput in ` +
      "requests/s; latency P50 / P99 in ms; batch sizes of the measured windows.",
    ""
  )
  for (const input of [...new Set(y.runs.map((r) => r.input))]) {
    const set = results.inputs.find((i) => i.kind === input)
    md.push(
      `**${input} inputs**${
        set === undefined ? "" : ` (${num(set.meanTokens)} tokens on average, ${set.minTokens} - ${set.maxTokens})`
      }`,
      ""
    )
    md.push(inputTable(y, input), "")
  }
  md.push(...charts(y, chart))
  return md
}

/**
 * The headline rows of throughput through the model and the engine against the raw `session.run`
 * ceiling, one per input set with a raw measurement.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ceilingHeadlines = (systems: SystemsResult): Array<Headline> =>
  systems.raw.flatMap((raw) => {
    const adaptive = systems.runs.find((r) => r.system === "adaptive" && r.input === raw.input)
    if (adaptive === undefined) return []
    const value = Stats.ratioSpread(adaptive.throughput, raw.itemsPerSecond)
    return [{
      label:
        `Throughput through EmbeddingModel + engine / raw session.run ceiling, ${raw.input} inputs (~${raw.seq} tokens)`,
      value,
      unit: "x",
      goal: ">= 0.95x",
      met: atLeast(value, 0.95),
      how:
        `adaptive, ${systems.concurrency} callers in process, vs raw session.run at batch ${raw.batch} x seq ${raw.seq} ` +
        `(the best batch size of the ceiling curve) in a worker, measured in the same repeat`
    }]
  })

/** The adaptive system against the best fixed cap, by median throughput (when any fixed cap ran). */
const bestFixedHeadline = (systems: SystemsResult, input: string): Array<Headline> => {
  const rows = systems.runs.filter((r) => r.input === input)
  const adaptive = rows.find((r) => r.system === "adaptive")
  const fixed = rows.filter((r) => r.system.startsWith("fixed-"))
  const bestFixed = fixed.reduce<typeof fixed[number] | undefined>(
    (best, r) => best === undefined || Stats.median(r.throughput) > Stats.median(best.throughput) ? r : best,
    undefined
  )
  if (adaptive === undefined || bestFixed === undefined) return []
  const value = Stats.ratioSpread(adaptive.throughput, bestFixed.throughput)
  return [{
    label: `Adaptive / best fixed (${bestFixed.system}) throughput, ${input} inputs`,
    value,
    unit: "x",
    goal: ">= 1.0x",
    met: atLeast(value, 0.98),
    how: `closed loop, ${systems.concurrency} callers; best of ${
      fixed.map((f) => f.system).join(", ")
    } by median (>= 0.98 counts as met: noise)`
  }]
}

/**
 * The headline rows of the adaptive system's throughput against the best fixed cap, TEI's strategy
 * and the original algorithm, per input set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (systems: SystemsResult): Array<Headline> =>
  [...new Set(systems.runs.map((r) => r.input))].flatMap((input) => {
    const rows = systems.runs.filter((r) => r.input === input)
    const adaptive = rows.find((r) => r.system === "adaptive")
    if (adaptive === undefined) return []
    return [
      ...bestFixedHeadline(systems, input),
      ...["tei", "original"].flatMap((other): Array<Headline> => {
        const o = rows.find((r) => r.system === other)
        if (o === undefined) return []
        const value = Stats.ratioSpread(adaptive.throughput, o.throughput)
        return [{
          label: `Adaptive / ${other === "tei" ? "TEI-style" : "original algorithm"} throughput, ${input} inputs`,
          value,
          unit: "x",
          goal: ">= 1.0x",
          met: atLeast(value, 0.98),
          how: `closed loop, ${systems.concurrency} callers, same model (>= 0.98 counts as met: noise)`
        }]
      })
    ]
  })
