/**
 * The report's section on worker layouts (scenario `layout`) and its headline figures: the
 * calibrated layout against the best measured one, per repeat.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import { num, spread } from "./report/Format.js"
import type { Results } from "./Results.js"
import type { LayoutResult } from "./scenarios/LayoutScenario.js"
import type { Headline } from "./Summary.js"

const MiB = 1024 * 1024

/**
 * Per repeat: the chosen layout's throughput over the best layout's on `input`.
 *
 * @since 0.1.0
 * @category figures
 */
export const chosenOverBest = (result: LayoutResult, input: string): Stats.Spread | undefined => {
  const chosen = result.calibration?.chosen
  const rows = result.runs.filter((r) => r.input === input)
  const mine = rows.find((r) => r.layout === chosen)
  if (mine === undefined || rows.length < 2) return undefined
  const best = mine.throughput.map((_, i) => Math.max(...rows.map((r) => r.throughput[i] ?? Number.NaN)))
  const ratios = Stats.ratioSpread(mine.throughput, best)
  return ratios.values.length === 0 ? undefined : ratios
}

/**
 * Per repeat: the chosen layout's idle p50 over the fastest layout's.
 *
 * @since 0.1.0
 * @category figures
 */
export const idleOverFastest = (result: LayoutResult): Stats.Spread | undefined => {
  const chosen = result.idle.find((x) => x.layout === result.calibration?.chosen)
  if (chosen === undefined || result.idle.length < 2) return undefined
  const p50s = (x: LayoutResult["idle"][number]) => x.latenciesMs.map((l) => Stats.median(l))
  const fastest = p50s(chosen).map((_, i) => Math.min(...result.idle.map((x) => p50s(x)[i] ?? Number.NaN)))
  const ratios = Stats.ratioSpread(p50s(chosen), fastest)
  return ratios.values.length === 0 ? undefined : ratios
}

/**
 * The headline rows of the layout scenario (none when it did not run or measured one layout).
 *
 * @since 0.1.0
 * @category figures
 */
export const headlines = (results: Results): Array<Headline> => {
  const l = results.scenarios.layout
  if (l === undefined || l.calibration === undefined) return []
  const out: Array<Headline> = []
  for (const input of l.inputs) {
    const value = chosenOverBest(l, input)
    if (value === undefined) continue
    out.push({
      label: `Calibrated layout (${l.calibration.chosen}) / best layout throughput, ${input} inputs`,
      value,
      unit: "x",
      goal: ">= 0.9x",
      met: Number.isFinite(value.median) ? value.median >= 0.9 : undefined,
      how: `closed loop, ${l.concurrency} callers in process, default batching, each layout of ` +
        `${l.layouts.length} its own model instance, interleaved; the best of them in the same repeat`
    })
  }
  const idle = idleOverFastest(l)
  if (idle !== undefined) {
    out.push({
      label: `Calibrated layout (${l.calibration.chosen}) idle p50 / fastest layout's`,
      value: idle,
      unit: "x",
      goal: "<= 1.5x",
      met: Number.isFinite(idle.median) ? idle.median <= 1.5 : undefined,
      how: `sequential single-text requests in process, ${l.idleGapMs} ms apart, per layout and repeat`
    })
  }
  return out
}

/**
 * The Markdown of the section (empty when the scenario did not run).
 *
 * @since 0.1.0
 * @category rendering
 */
export const section = (results: Results): Array<string> => {
  const l = results.scenarios.layout
  if (l === undefined) return []
  const md: Array<string> = ["## 6. Worker layouts", ""]
  md.push(
    `Workers x intra-op threads on ${l.usableCores} usable cores, in process, default batching configuration, ` +
      `${l.concurrency} closed-loop callers per window; each layout is its own model instance, and the layouts ` +
      "run interleaved (A, B, ... per input set and repeat). Command: `pnpm bench --scenario layout` " +
      "(`--layouts 1x2,2x1` to choose the layouts)."
  )
  md.push("")
  const c = l.calibration
  if (c !== undefined) {
    md.push(
      `**Start-up calibration** (\`ADABATCH_WORKERS=auto ADABATCH_THREADS=auto\`, forced): chose **${c.chosen}** ` +
        `in ${num(c.report.calibrationMs ?? Number.NaN)} ms of measuring (${num(c.wallMs)} ms with loading the ` +
        `chosen layout); memory per worker ${num((c.report.memoryPerWorkerBytes ?? Number.NaN) / MiB)} MiB. ` +
        `Reason: ${c.report.reason}.`
    )
    md.push("")
    md.push(table(
      ["candidate", "short items/s", "long items/s", "idle ms", "RSS growth MiB", "score", "ruled out"],
      c.report.candidates.map((x) => [
        `${x.workers} x ${x.threads}`,
        num(x.shortItemsPerSecond),
        num(x.longItemsPerSecond),
        num(x.idleMs),
        num(x.rssGrowthBytes / MiB),
        num(x.score),
        x.excluded ?? "-"
      ])
    ))
    md.push("")
  }
  md.push(table(
    ["layout", "idle p50 ms", ...l.inputs.map((i) => `${i} req/s`), ...l.inputs.map((i) => `${i} p50 ms`)],
    l.layouts.map((layout) => {
      const label = `${layout.workers} x ${layout.threads}`
      const idle = l.idle.find((x) => x.layout === label)
      const row = (input: string) => l.runs.find((r) => r.layout === label && r.input === input)
      return [
        label === c?.chosen ? `**${label}** (calibrated)` : label,
        idle === undefined ? "n/a" : spread(Stats.spread(idle.latenciesMs.map((x) => Stats.median(x)))),
        ...l.inputs.map((i) => spread(Stats.spread(row(i)?.throughput ?? []))),
        ...l.inputs.map((i) => num(Stats.median(row(i)?.p50Ms ?? [])))
      ]
    })
  ))
  md.push("")
  const ratios = l.inputs.flatMap((i) => {
    const r = chosenOverBest(l, i)
    return r === undefined ? [] : [`${i} ${spread(r, "x")}`]
  })
  if (ratios.length > 0) {
    const idle = idleOverFastest(l)
    md.push(
      `Calibrated layout / best layout throughput, per repeat: ${ratios.join(", ")}` +
        (idle === undefined ? "." : `; idle p50 / fastest layout's: ${spread(idle, "x")}.`)
    )
    md.push("")
  }
  return md
}
