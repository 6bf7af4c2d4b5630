/**
 * Reads the Prometheus text format (`/metrics`) back into numbers: one parser ({@link parse}) and
 * the readers the benchmarks and the reliability suite need on top of it, a series by name and
 * labels ({@link value}, {@link outcomes}), counters ({@link counter}) and histograms and their
 * difference between two scrapes ({@link histogram}, {@link histogramDelta}), to take the server's
 * own counts over a test.
 *
 * @since 0.1.0
 */

/**
 * Samples by series: `name` or `name{label="v",...}` (labels as written) -> value.
 *
 * @since 0.1.0
 * @category models
 */
export type Scrape = ReadonlyMap<string, number>

/**
 * Parses the exposition text. Comments and malformed lines are skipped.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Scrape => {
  const out = new Map<string, number>()
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const brace = line.indexOf("{")
    const space = brace >= 0 ? line.indexOf(" ", line.indexOf("}", brace)) : line.indexOf(" ")
    if (space < 0) continue
    const series = line.slice(0, space)
    const value = Number(line.slice(space + 1).trim().split(" ")[0])
    if (!Number.isNaN(value)) out.set(series, value)
  }
  return out
}

/**
 * A histogram's state: cumulative buckets (upper bound, count), sum and count.
 *
 * @since 0.1.0
 * @category models
 */
export interface Histogram {
  readonly buckets: ReadonlyArray<readonly [number, number]>
  readonly sum: number
  readonly count: number
}

/**
 * Reads histogram `name` (unlabelled apart from `le`). Missing: all zeros.
 *
 * @since 0.1.0
 * @category parsing
 */
export const histogram = (scrape: Scrape, name: string): Histogram => {
  const buckets: Array<readonly [number, number]> = []
  const prefix = `${name}_bucket{`
  for (const [series, value] of scrape) {
    if (!series.startsWith(prefix)) continue
    const m = /le="([^"]+)"/.exec(series)
    if (m === null) continue
    const le = m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1])
    buckets.push([le, value])
  }
  buckets.sort((a, b) => a[0] - b[0])
  return { buckets, sum: scrape.get(`${name}_sum`) ?? 0, count: scrape.get(`${name}_count`) ?? 0 }
}

/**
 * What happened between two scrapes of a histogram: observations, their mean, and the bucket
 * bounds that contain the smallest and largest of them (exact values are not exported).
 *
 * @since 0.1.0
 * @category utils
 */
export const histogramDelta = (
  before: Histogram,
  after: Histogram
): {
  readonly count: number
  readonly mean: number
  /** Upper bound of the lowest bucket that received an observation; the minimum is at most this. */
  readonly minAtMost: number
  /** Lower bound (exclusive) and upper bound of the highest bucket that received one. */
  readonly maxBetween: readonly [number, number]
  /** Non-cumulative counts per bucket upper bound. */
  readonly counts: ReadonlyArray<readonly [number, number]>
} => {
  const beforeOf = new Map(before.buckets)
  const cumulative = after.buckets.map(([le, c]) => [le, c - (beforeOf.get(le) ?? 0)] as const)
  const counts = cumulative.map(([le, c], i) => [le, c - (i === 0 ? 0 : cumulative[i - 1]![1])] as const)
  const count = after.count - before.count
  const nonEmpty = counts.filter(([, c]) => c > 0)
  const first = nonEmpty[0]
  const last = nonEmpty[nonEmpty.length - 1]
  const lastIndex = last === undefined ? -1 : counts.findIndex(([le]) => le === last[0])
  return {
    count,
    mean: count > 0 ? (after.sum - before.sum) / count : Number.NaN,
    minAtMost: first === undefined ? Number.NaN : first[0],
    maxBetween: last === undefined
      ? [Number.NaN, Number.NaN]
      : [lastIndex > 0 ? counts[lastIndex - 1]![0] : 0, last[0]],
    counts
  }
}

/**
 * Sum of every series of counter `name` whose labels contain `match` (e.g. `outcome="rejected"`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const counter = (scrape: Scrape, name: string, match?: string): number => {
  let total = 0
  for (const [series, value] of scrape) {
    if (series !== name && !series.startsWith(`${name}{`)) continue
    if (match !== undefined && !series.includes(match)) continue
    total += value
  }
  return total
}

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/**
 * The metric name and labels of a series key (`name{label="v",...}`), label values as written
 * (escapes kept).
 *
 * @since 0.1.0
 * @category parsing
 */
export const series = (key: string): { readonly name: string; readonly labels: Record<string, string> } => {
  const brace = key.indexOf("{")
  if (brace < 0) return { name: key, labels: {} }
  const labels: Record<string, string> = {}
  for (const pair of key.slice(brace + 1, key.lastIndexOf("}")).matchAll(LABEL)) labels[pair[1]!] = pair[2]!
  return { name: key.slice(0, brace), labels }
}

/**
 * The value of the series `name` whose labels include `labels`, summed over the matching series;
 * 0 when there is none.
 *
 * @example
 * ```ts
 * import { Prometheus } from "@adabatch/testkit"
 *
 * const text = 'adabatch_requests_total{outcome="ok"} 3\nadabatch_requests_total{outcome="rejected"} 1\n'
 * console.log(Prometheus.value(text, "adabatch_requests_total", { outcome: "ok" })) // 3
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const value = (scrape: string | Scrape, name: string, labels: Record<string, string> = {}): number => {
  let sum = 0
  for (const [key, v] of typeof scrape === "string" ? parse(scrape) : scrape) {
    if (!key.startsWith(name)) continue
    const s = series(key)
    if (s.name === name && Object.entries(labels).every(([k, want]) => s.labels[k] === want)) sum += v
  }
  return sum
}

/**
 * `adabatch_requests_total` by outcome (`ok`, `rejected`, `expired`, `cancelled`, `failed`,
 * `shutdown`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const outcomes = (scrape: string | Scrape): Record<string, number> => {
  const parsed = typeof scrape === "string" ? parse(scrape) : scrape
  return Object.fromEntries(
    ["ok", "rejected", "expired", "cancelled", "failed", "shutdown"].map((o) => [
      o,
      value(parsed, "adabatch_requests_total", { outcome: o })
    ])
  )
}
