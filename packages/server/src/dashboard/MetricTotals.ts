/**
 * The cumulative metric values the dashboard plots, read from the metric registry (the series
 * `/metrics` exports), and the per-second rates and quantiles between two readings.
 *
 * Only the series named here are read: their state is computed on demand (the registry's hooks),
 * and reading the latency summaries would sort their sample windows every second for nothing.
 *
 * @since 0.1.0
 */
import { BatchMetrics, ModelMetrics } from "@adabatch/core"
import { Context, Metric } from "effect"

/**
 * Where a request's answer counts in the feed.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "ok" | "client_error" | "overloaded" | "unavailable" | "timeout" | "server_error" | "gone"

/**
 * The outcomes, in the feed's order.
 *
 * @since 0.1.0
 * @category models
 */
export const outcomes: ReadonlyArray<Outcome> = [
  "ok",
  "client_error",
  "overloaded",
  "unavailable",
  "timeout",
  "server_error",
  "gone"
]

/**
 * The outcome of an HTTP status.
 *
 * @since 0.1.0
 * @category models
 */
export const outcomeOf = (status: number): Outcome =>
  status === 499
    ? "gone"
    : status === 429
    ? "overloaded"
    : status === 503
    ? "unavailable"
    : status === 504
    ? "timeout"
    : status >= 500
    ? "server_error"
    : status >= 400
    ? "client_error"
    : "ok"

/**
 * Routes left out of the request rates and latencies: probes, scrapers and the pages that watch
 * the server (otherwise watching would show up as traffic).
 *
 * @since 0.1.0
 * @category models
 */
export const monitoringRoutes: ReadonlySet<string> = new Set([
  "/health",
  "/ready",
  "/metrics",
  "/info",
  "/openapi.json",
  "/api-doc/openapi.json",
  "/docs",
  "/dashboard",
  "/dashboard/feed"
])

/**
 * A histogram's cumulative bucket counts (`counts[i]`: observations <= `bounds[i]`), total and sum.
 *
 * @since 0.1.0
 * @category models
 */
export interface Histogram {
  readonly bounds: ReadonlyArray<number>
  readonly counts: ReadonlyArray<number>
  readonly count: number
  readonly sum: number
}

/**
 * One reading of the registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Totals {
  /** Monotonic time of the reading, ms. */
  readonly at: number
  readonly requests: Readonly<Record<Outcome, number>>
  /** HTTP request durations of the API routes, seconds. */
  readonly latency: Histogram
  readonly batchSize: Histogram
  readonly batchCost: Histogram
  /** Batch run times, seconds. */
  readonly batchDuration: Histogram
  /** Queue waits, seconds. */
  readonly queueWait: Histogram
  readonly tokens: Histogram
}

const emptyHistogram: Histogram = { bounds: [], counts: [], count: 0, sum: 0 }

/** Adds `state` into `into` (series of one metric share their bounds). */
const addHistogram = (into: Histogram, state: Metric.HistogramState): Histogram => {
  const counts = state.buckets.map(([, n], i) => n + (into.counts[i] ?? 0))
  return {
    bounds: state.buckets.map(([bound]) => bound),
    counts,
    count: into.count + state.count,
    sum: into.sum + state.sum
  }
}

const ids = {
  requests: "adabatch_http_requests_total",
  latency: "adabatch_http_request_duration_seconds",
  batchSize: BatchMetrics.batchSize.id,
  batchCost: BatchMetrics.batchCost.id,
  batchDuration: BatchMetrics.batchDuration.id,
  queueWait: BatchMetrics.queueWait.id,
  tokens: ModelMetrics.batchTokens.id
} as const

type HistogramKey = "latency" | "batchSize" | "batchCost" | "batchDuration" | "queueWait" | "tokens"

const histogramKeys = new Map<string, HistogramKey>([
  [ids.latency, "latency"],
  [ids.batchSize, "batchSize"],
  [ids.batchCost, "batchCost"],
  [ids.batchDuration, "batchDuration"],
  [ids.queueWait, "queueWait"],
  [ids.tokens, "tokens"]
])

const isApiRoute = (attributes: Metric.Metric.AttributeSet | undefined): boolean =>
  !monitoringRoutes.has(attributes?.["route"] ?? "")

/**
 * Reads the totals from the metric registry of `context` at monotonic time `at` (ms).
 *
 * @since 0.1.0
 * @category constructors
 */
export const read = (context: Context.Context<never>, at: number): Totals => {
  const requests: Record<Outcome, number> = {
    ok: 0,
    client_error: 0,
    overloaded: 0,
    unavailable: 0,
    timeout: 0,
    server_error: 0,
    gone: 0
  }
  const histograms: Record<HistogramKey, Histogram> = {
    latency: emptyHistogram,
    batchSize: emptyHistogram,
    batchCost: emptyHistogram,
    batchDuration: emptyHistogram,
    queueWait: emptyHistogram,
    tokens: emptyHistogram
  }
  for (const meta of Context.get(context, Metric.MetricRegistry).values()) {
    if (meta.id === ids.requests) {
      if (!isApiRoute(meta.attributes)) continue
      const state = meta.hooks.get(context) as Metric.CounterState<number>
      requests[outcomeOf(Number(meta.attributes?.["status"]))] += Number(state.count)
      continue
    }
    const key = histogramKeys.get(meta.id)
    if (key === undefined || meta.type !== "Histogram") continue
    if (key === "latency" && !isApiRoute(meta.attributes)) continue
    histograms[key] = addHistogram(histograms[key], meta.hooks.get(context) as Metric.HistogramState)
  }
  return { at, requests, ...histograms }
}

/**
 * The histogram of the observations between two readings of it.
 *
 * @since 0.1.0
 * @category deltas
 */
export const difference = (later: Histogram, earlier: Histogram): Histogram => ({
  bounds: later.bounds,
  counts: later.counts.map((n, i) => n - (earlier.counts[i] ?? 0)),
  count: later.count - earlier.count,
  sum: later.sum - earlier.sum
})

/**
 * The `q` quantile of a histogram, interpolated linearly within its bucket (as Prometheus'
 * `histogram_quantile`); past the last bound, the last bound. `undefined` when it is empty.
 *
 * @since 0.1.0
 * @category deltas
 */
export const quantile = (histogram: Histogram, q: number): number | undefined => {
  if (histogram.count <= 0) return undefined
  const rank = q * histogram.count
  let below = 0
  for (let i = 0; i < histogram.bounds.length; i++) {
    const upTo = histogram.counts[i]!
    if (upTo >= rank && upTo > below) {
      const lower = i === 0 ? 0 : histogram.bounds[i - 1]!
      return lower + (histogram.bounds[i]! - lower) * ((rank - below) / (upTo - below))
    }
    below = upTo
  }
  return histogram.bounds.at(-1)
}

/**
 * The mean of a histogram's observations, `undefined` when it is empty.
 *
 * @since 0.1.0
 * @category deltas
 */
export const mean = (histogram: Histogram): number | undefined =>
  histogram.count > 0 ? histogram.sum / histogram.count : undefined
