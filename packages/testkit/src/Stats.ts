/**
 * Descriptive statistics for benchmark samples.
 *
 * Percentiles use **linear interpolation between closest ranks** (Hyndman & Fan type 7, the
 * default of NumPy, R and Excel's `PERCENTILE.INC`): for `n` sorted samples the `p`-quantile sits at
 * rank `h = (n - 1) * p`; the result is `x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])`.
 * So the 0-quantile is the minimum, the 1-quantile the maximum and the 0.5-quantile the usual median.
 * The standard deviation is the sample one (divisor `n - 1`).
 *
 * Every function here is pure and never mutates its input. `NaN` samples (a window that measured
 * nothing) are ignored. The reliability suite's figures use the nearest rank instead
 * ({@link nearestRank}, no interpolation), and {@link slope} for growth over time.
 *
 * @since 0.1.0
 */

/**
 * The summary printed for a latency (or any other) distribution.
 *
 * @since 0.1.0
 * @category models
 */
export interface Distribution {
  readonly count: number
  readonly mean: number
  readonly stdDev: number
  readonly min: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

/**
 * The spread of one figure over the repeats of a run: min, median and max.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
  /** Every per-repeat value, in repeat order. */
  readonly values: ReadonlyArray<number>
}

/**
 * Sorts a copy of the samples in ascending numeric order.
 *
 * @since 0.1.0
 * @category utils
 */
export const sorted = (samples: ReadonlyArray<number>): Array<number> =>
  samples.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)

/**
 * The `p`-quantile (`0 <= p <= 1`) of samples that are **already sorted** ascending, by linear
 * interpolation between closest ranks. `NaN` for no samples.
 *
 * @since 0.1.0
 * @category utils
 */
export const quantileSorted = (sortedSamples: ArrayLike<number>, p: number): number => {
  const n = sortedSamples.length
  if (n === 0) return Number.NaN
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${p}`)
  const h = (n - 1) * p
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, n - 1)
  const a = sortedSamples[lo]!
  const b = sortedSamples[hi]!
  return a + (h - lo) * (b - a)
}

/**
 * The `p`-th percentile (`0 <= p <= 100`) of unsorted samples. `NaN` for no samples.
 *
 * @since 0.1.0
 * @category utils
 */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`)
  return quantileSorted(sorted(samples), p / 100)
}

/**
 * The median of unsorted samples. `NaN` for no samples.
 *
 * @since 0.1.0
 * @category utils
 */
export const median = (samples: ReadonlyArray<number>): number => quantileSorted(sorted(samples), 0.5)

/**
 * The arithmetic mean. `NaN` for no samples.
 *
 * @since 0.1.0
 * @category utils
 */
export const mean = (samples: ReadonlyArray<number>): number => {
  let sum = 0
  let n = 0
  for (const x of samples) {
    if (Number.isNaN(x)) continue
    sum += x
    n++
  }
  return n === 0 ? Number.NaN : sum / n
}

/**
 * The sample standard deviation (divisor `n - 1`); `0` for one sample, `NaN` for none.
 *
 * @since 0.1.0
 * @category utils
 */
export const stdDev = (samples: ReadonlyArray<number>): number => {
  const xs = samples.filter((x) => !Number.isNaN(x))
  const n = xs.length
  if (n === 0) return Number.NaN
  if (n === 1) return 0
  const m = mean(xs)
  let acc = 0
  for (const x of xs) acc += (x - m) * (x - m)
  return Math.sqrt(acc / (n - 1))
}

/**
 * Summarises a distribution: count, mean, standard deviation, min, P50/P90/P95/P99 and max.
 * All fields are `NaN` (count 0) for no samples.
 *
 * @since 0.1.0
 * @category constructors
 */
export const distribution = (samples: ReadonlyArray<number>): Distribution => {
  const s = sorted(samples)
  return {
    count: s.length,
    mean: mean(s),
    stdDev: stdDev(s),
    min: s.length === 0 ? Number.NaN : s[0]!,
    p50: quantileSorted(s, 0.5),
    p90: quantileSorted(s, 0.9),
    p95: quantileSorted(s, 0.95),
    p99: quantileSorted(s, 0.99),
    max: s.length === 0 ? Number.NaN : s[s.length - 1]!
  }
}

/**
 * The min / median / max of per-repeat values.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spread = (values: ReadonlyArray<number>): Spread => {
  const finite = values.filter((v) => Number.isFinite(v))
  const s = sorted(finite)
  return {
    min: s.length === 0 ? Number.NaN : s[0]!,
    median: quantileSorted(s, 0.5),
    max: s.length === 0 ? Number.NaN : s[s.length - 1]!,
    values: [...values]
  }
}

/**
 * The spread of **per-repeat ratios** `numerator[i] / denominator[i]`. Ratios are taken inside
 * each repeat (both systems measured back to back in the same interleaved pass) and only then
 * summarised, so that slow phases of a noisy machine hit both sides of each ratio. Pairs with a
 * zero, missing or non-finite side are skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ratioSpread = (
  numerator: ReadonlyArray<number>,
  denominator: ReadonlyArray<number>
): Spread => {
  const n = Math.min(numerator.length, denominator.length)
  const ratios: Array<number> = []
  for (let i = 0; i < n; i++) {
    const a = numerator[i]!
    const b = denominator[i]!
    if (Number.isFinite(a) && Number.isFinite(b) && b !== 0) ratios.push(a / b)
  }
  return spread(ratios)
}

/**
 * The spread of per-repeat differences `a[i] - b[i]` (e.g. idle latency minus the raw batch-1
 * model time).
 *
 * @since 0.1.0
 * @category constructors
 */
export const differenceSpread = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Spread => {
  const n = Math.min(a.length, b.length)
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (Number.isFinite(d)) out.push(d)
  }
  return spread(out)
}

/**
 * Counts of each distinct value (e.g. batch sizes), sorted by value.
 *
 * @since 0.1.0
 * @category constructors
 */
export const histogram = (values: ReadonlyArray<number>): Array<{ readonly value: number; readonly count: number }> => {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([value, count]) => ({ value, count }))
}

/**
 * The `q`-quantile (`0..1`) of unsorted `values` by the **nearest rank** (the smallest value with at
 * least `q` of the values at or below it; no interpolation): the rule of the reliability suite's
 * figures and assertions. `NaN` when empty.
 *
 * @since 0.1.0
 * @category utils
 */
export const nearestRank = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * Least-squares slope of `ys` against `xs` (units of y per unit of x); 0 with fewer than two points.
 *
 * @since 0.1.0
 * @category utils
 */
export const slope = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number => {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) return 0
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += xs[i]!
    my += ys[i]!
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
  }
  return sxx === 0 ? 0 : sxy / sxx
}
