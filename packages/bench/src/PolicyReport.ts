/**
 * The report section of the `policy` scenario: the adaptive batch-size policy against fixed caps
 * on the simulated cost curves, per curve and worker count, with the goals of issue #13.
 *
 * @since 0.1.0
 */
import type { PolicyResult } from "./scenarios/PolicyScenario.js"

/**
 * Goals: adaptive / best fixed cap at saturation, and adaptive / best fixed p50 at half load.
 *
 * @since 0.1.0
 * @category constants
 */
export const goals = { ratio: 0.97, p50Ratio: 1.2 } as const

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")
const rate = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a")

/**
 * The Markdown lines of the section.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (p: PolicyResult): Array<string> => {
  const met = (ok: boolean) => (ok ? "yes" : "**no**")
  const rows = p.cases.map((c) => {
    const caps = c.fixed.map((f) => `${f.cap}: ${rate(f.throughput)}`).join(", ")
    return `| ${c.curve} | ${c.workers} | ${rate(c.adaptive.throughput)} | fixed-${c.best.cap}: ${
      rate(c.best.throughput)
    } | ${fmt(c.ratio)} | ${met(c.ratio >= goals.ratio)} | ${fmt(c.half.adaptive.p50Ms, 2)} / ${
      fmt(c.half.best.p50Ms, 2)
    } | ${fmt(c.half.p50Ratio)} | ${met(c.half.p50Ratio <= goals.p50Ratio)} | ${caps} |`
  })
  const minRatio = Math.min(...p.cases.map((c) => c.ratio))
  const maxP50 = Math.max(...p.cases.map((c) => c.half.p50Ratio))
  return [
    "## 9. Batch-size policy on simulated cost curves (real time)",
    "",
    `The engine in front of a batch function that sleeps for the time a cost curve gives (items/s by batch size, ` +
    `x ${1 - p.noise}..${
      1 + p.noise
    } noise per batch; curves: \`packages/core/src/testing/CostCurves.ts\`, measured on ` +
    `the 2-core and the 16-core machines plus synthetic shapes). Saturation: ${p.callers} closed-loop callers, fixed ` +
    "item caps 4..128 against the adaptive policy (item cap 128, padded-token budget 16384), the server's adaptive " +
    "wait for all. Half load: Poisson arrivals at 50 % of the best fixed cap's throughput, adaptive and that cap. " +
    "Each curve is run at a time scale (a batch of 128 takes about 12 ms): throughputs are in simulated items/s of " +
    "that scale, ratios do not depend on it.",
    "",
    "| curve | workers | adaptive items/s | best fixed | adaptive / best | >= 0.97 | p50 ms at half load, adaptive / best fixed | p50 ratio | <= 1.2 | fixed caps (items/s) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows,
    "",
    `Lowest adaptive / best fixed: ${fmt(minRatio)} (goal >= ${goals.ratio}); highest p50 ratio at half load: ${
      fmt(maxP50)
    } (goal <= ${goals.p50Ratio}).`,
    ""
  ]
}
