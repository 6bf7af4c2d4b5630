/**
 * A hot-path recorder of durations behind a histogram and a summary `Metric`. Recording one value
 * is a few typed-array writes: no series lookup, no tuple, no clock read. The two metrics are
 * registered once per metric registry with `Metric.registerUnsafe`, so `Metric.value`,
 * `Metric.snapshot` and the Prometheus exporter read the recorder's state as they read any other
 * series. Every engine sharing a registry shares its recorder, as they would share the series.
 *
 * Values are recorded in milliseconds and exported in seconds (the Prometheus base unit).
 *
 * @since 0.1.0
 */
import { Clock, Context, Metric } from "effect"

/**
 * What a recorder backs and how.
 *
 * @since 0.1.0
 * @category models
 */
export interface DurationRecorderOptions {
  readonly histogram: Metric.Metric<number, Metric.HistogramState>
  readonly summary: Metric.Metric<number, Metric.SummaryState>
  /** Histogram bucket bounds, seconds. */
  readonly boundaries: ReadonlyArray<number>
  /** Summary window, ms. */
  readonly maxAgeMs: number
  /** Summary sample ring size. */
  readonly maxSize: number
  readonly quantiles: ReadonlyArray<number>
}

/**
 * Records durations (ms) at monotonic times (ms, from the engine's `Clock`).
 *
 * @since 0.1.0
 * @category models
 */
export class DurationRecorder {
  /** Bucket bounds in ms, ascending. */
  private readonly bounds: Float64Array
  /** The same in seconds, as exported. */
  private readonly boundsSeconds: ReadonlyArray<number>
  private readonly counts: Float64Array
  private readonly values: Float64Array
  private readonly times: Float64Array
  private readonly quantiles: ReadonlyArray<number>
  private head = 0
  private count = 0
  private sum = 0
  private min = Number.MAX_VALUE
  private max = -Number.MAX_VALUE

  constructor(private readonly options: DurationRecorderOptions) {
    this.boundsSeconds = [...options.boundaries].sort((a, b) => a - b)
    this.bounds = Float64Array.from(this.boundsSeconds, (s) => s * 1000)
    this.counts = new Float64Array(this.bounds.length + 1)
    this.values = new Float64Array(options.maxSize)
    this.times = new Float64Array(options.maxSize).fill(Number.NEGATIVE_INFINITY)
    this.quantiles = [...options.quantiles].sort((a, b) => a - b)
  }

  /**
   * Records one duration `ms` observed at monotonic time `nowMs`.
   *
   * @since 0.1.0
   */
  record(ms: number, nowMs: number): void {
    const bounds = this.bounds
    let lo = 0
    let hi = bounds.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ms <= bounds[mid]!) hi = mid
      else lo = mid + 1
    }
    this.counts[lo]!++
    this.count++
    this.sum += ms
    if (ms < this.min) this.min = ms
    if (ms > this.max) this.max = ms
    const size = this.values.length
    if (size > 0) {
      const at = this.head
      this.values[at] = ms
      this.times[at] = nowMs
      this.head = at + 1 === size ? 0 : at + 1
    }
  }

  /**
   * The histogram state, in seconds.
   *
   * @since 0.1.0
   */
  histogram(): Metric.HistogramState {
    const buckets: Array<[number, number]> = []
    let cumulated = 0
    for (let i = 0; i < this.bounds.length; i++) {
      cumulated += this.counts[i]!
      buckets.push([this.boundsSeconds[i]!, cumulated])
    }
    return this.totals({ buckets })
  }

  /**
   * The summary state, in seconds, over the samples younger than `maxAgeMs` at `nowMs`.
   *
   * @since 0.1.0
   */
  summary(nowMs: number): Metric.SummaryState {
    const samples: Array<number> = []
    for (let i = 0; i < this.values.length; i++) {
      const age = nowMs - this.times[i]!
      if (age >= 0 && age <= this.options.maxAgeMs) samples.push(this.values[i]!)
    }
    samples.sort((a, b) => a - b)
    const n = samples.length
    const quantiles = this.quantiles.map((q): readonly [number, number | undefined] => {
      if (n === 0) return [q, undefined]
      const index = q <= 0 ? 0 : q >= 1 ? n - 1 : Math.ceil(q * n) - 1
      return [q, samples[index]! / 1000]
    })
    return this.totals({ quantiles })
  }

  private totals<A>(a: A) {
    const empty = this.count === 0
    return {
      ...a,
      count: this.count,
      sum: this.sum / 1000,
      min: empty ? Number.MAX_VALUE : this.min / 1000,
      max: empty ? -Number.MAX_VALUE : this.max / 1000
    }
  }
}

const byRegistry = new WeakMap<object, Map<string, DurationRecorder>>()

const monotonicMs = (context: Context.Context<never>) =>
  Number(Context.get(context, Clock.Clock).monotonicTimeNanosUnsafe()) / 1e6

/**
 * The recorder of `options.histogram` and `options.summary` in the metric registry of `context`:
 * created and registered on first use, then shared.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forContext = (options: DurationRecorderOptions, context: Context.Context<never>): DurationRecorder => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let recorders = byRegistry.get(registry)
  if (recorders === undefined) {
    recorders = new Map()
    byRegistry.set(registry, recorders)
  }
  const key = options.histogram.id
  let recorder = recorders.get(key)
  if (recorder === undefined) {
    const created = new DurationRecorder(options)
    recorder = created
    recorders.set(key, created)
    Metric.registerUnsafe(options.histogram, context, {
      get: () => created.histogram(),
      update: () => {},
      modify: () => {}
    })
    Metric.registerUnsafe(options.summary, context, {
      get: (readContext) => created.summary(monotonicMs(readContext)),
      update: () => {},
      modify: () => {}
    })
  }
  return recorder
}
