/**
 * The engine's KPIs as Effect `Metric` values (prefix `adabatch_`). The seed's KPIs derive from them:
 * - throughput: `rate(adabatch_requests_total{outcome="ok"}[1m])`;
 * - P50/P95/P99 latency: `adabatch_request_duration_quantiles_seconds` (summary) or the histogram;
 * - batch efficiency: `adabatch_batch_efficiency` (size / cap in force), or
 *   `adabatch_batch_size_sum / adabatch_batch_size_count / adabatch_policy_max_batch_size`;
 * - queue utilisation: `adabatch_queue_utilisation` (= depth / capacity);
 * - rejection rate: `adabatch_requests_total{outcome="rejected"} / sum(adabatch_requests_total)`.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"
import type { DurationRecorderOptions } from "./DurationRecorder.js"

/** Bucket bounds in seconds (Prometheus base unit): 0.25 ms ... 30 s. */
const latencyBoundaries = [
  0.00025,
  0.0005,
  0.001,
  0.002,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.2,
  0.5,
  1,
  2,
  5,
  10,
  30
]

/**
 * Exported in seconds (the Prometheus base unit, as `promtool check metrics` demands), recorded in
 * milliseconds like every duration inside the engine.
 */
const fromMillis = <S>(metric: Metric.Metric<number, S>): Metric.Metric<number, S> =>
  Metric.mapInput(metric, (ms: number) => ms / 1000)

/**
 * Request outcomes.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "ok" | "rejected" | "expired" | "cancelled" | "failed" | "shutdown"

/**
 * Requests by outcome: `ok`, `rejected` (queue full), `expired` (deadline passed before compute),
 * `cancelled` (caller went away while queued), `failed` (the batch function failed), `shutdown`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requests = Metric.counter("adabatch_requests_total", {
  description: "Requests submitted to the engine, by outcome",
  incremental: true
})

const outcomeCounter = (outcome: Outcome): Metric.Metric<number, Metric.CounterState<number>> =>
  Metric.counter("adabatch_requests_total", {
    description: "Requests submitted to the engine, by outcome",
    incremental: true,
    attributes: { outcome }
  })

/**
 * One counter per outcome, the same series as `requests` with an `outcome` attribute. Built with
 * the attribute (not `Metric.withAttributes`, which makes a new context and series key on every
 * update), so the hot path builds nothing.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestsByOutcome: Record<Outcome, Metric.Metric<number, Metric.CounterState<number>>> = {
  ok: outcomeCounter("ok"),
  rejected: outcomeCounter("rejected"),
  expired: outcomeCounter("expired"),
  cancelled: outcomeCounter("cancelled"),
  failed: outcomeCounter("failed"),
  shutdown: outcomeCounter("shutdown")
}

/**
 * Rejections because the queue was full.
 *
 * @since 0.1.0
 * @category metrics
 */
export const rejections = Metric.counter("adabatch_rejections_total", {
  description: "Submits refused because the queue was full",
  incremental: true
})

/**
 * Time from submit to completion, completed requests (recorded in ms, exported in seconds).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestLatency = fromMillis(Metric.histogram("adabatch_request_duration_seconds", {
  description: "Time from submit to result (seconds)",
  boundaries: latencyBoundaries
}))

/**
 * Quantiles of the request latency over the last minute (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestLatencyQuantiles = fromMillis(Metric.summary("adabatch_request_duration_quantiles_seconds", {
  description: "P50/P95/P99 of the time from submit to result over the last minute (seconds)",
  maxAge: "1 minute",
  maxSize: 4096,
  quantiles: [0.5, 0.95, 0.99]
}))

/**
 * Time from submit to dispatch (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueWait = fromMillis(Metric.histogram("adabatch_queue_wait_seconds", {
  description: "Time from submit to dispatch in a batch (seconds)",
  boundaries: latencyBoundaries
}))

/**
 * Quantiles of the queue wait over the last minute (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueWaitQuantiles = fromMillis(Metric.summary("adabatch_queue_wait_quantiles_seconds", {
  description: "P50/P95/P99 of the time from submit to dispatch over the last minute (seconds)",
  maxAge: "1 minute",
  maxSize: 4096,
  quantiles: [0.5, 0.95, 0.99]
}))

/** The recorder settings of a histogram and summary pair above (the summaries' one-minute window). */
const recorded = (
  histogram: DurationRecorderOptions["histogram"],
  summary: DurationRecorderOptions["summary"]
): DurationRecorderOptions => ({
  histogram,
  summary,
  boundaries: latencyBoundaries,
  maxAgeMs: 60_000,
  maxSize: 4096,
  quantiles: [0.5, 0.95, 0.99]
})

/**
 * How the engine records `requestLatency` and `requestLatencyQuantiles` (see `DurationRecorder`:
 * the per-request path writes two typed arrays instead of updating two series).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestDuration: DurationRecorderOptions = recorded(requestLatency, requestLatencyQuantiles)

/**
 * How the engine records `queueWait` and `queueWaitQuantiles`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueWaitDuration: DurationRecorderOptions = recorded(queueWait, queueWaitQuantiles)

/**
 * Items per batch.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchSize = Metric.histogram("adabatch_batch_size", {
  description: "Items per batch",
  boundaries: [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512]
})

/**
 * Cost per batch as counted against the budget (e.g. padded tokens).
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchCost = Metric.histogram("adabatch_batch_cost", {
  description: "Cost per batch as counted against the budget (e.g. padded tokens)",
  boundaries: Metric.exponentialBoundaries({ start: 16, factor: 2, count: 14 })
})

/**
 * Wall time of the batch function (ms).
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchDuration = fromMillis(Metric.histogram("adabatch_batch_duration_seconds", {
  description: "Execution time of one batch (seconds)",
  boundaries: latencyBoundaries
}))

/**
 * Batch size / item cap in force, per batch.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchEfficiency = Metric.histogram("adabatch_batch_efficiency", {
  description: "Batch size divided by the item cap in force when it formed",
  boundaries: [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1]
})

/**
 * Batches run.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batches = Metric.counter("adabatch_batches_total", {
  description: "Batches run",
  incremental: true
})

/**
 * Requests waiting (not yet dispatched).
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueDepth = Metric.gauge("adabatch_queue_depth", { description: "Requests waiting for a batch" })

/**
 * Queue capacity in force.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueCapacity = Metric.gauge("adabatch_queue_capacity", { description: "Queue capacity in force" })

/**
 * Queue depth / capacity.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueUtilisation = Metric.gauge("adabatch_queue_utilisation", {
  description: "Queue depth divided by capacity"
})

/**
 * Batches running now.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchesInFlight = Metric.gauge("adabatch_batches_in_flight", { description: "Batches running now" })

/**
 * The batch-size policy's current item cap.
 *
 * @since 0.1.0
 * @category metrics
 */
export const policyMaxBatchSize = Metric.gauge("adabatch_policy_max_batch_size", {
  description: "Item cap chosen by the batch-size policy for the latest batch"
})

/**
 * The batch-size policy's current cost budget.
 *
 * @since 0.1.0
 * @category metrics
 */
export const policyMaxBatchCost = Metric.gauge("adabatch_policy_max_batch_cost", {
  description: "Cost budget chosen by the batch-size policy for the latest batch (0 = none)"
})

/**
 * The wait policy's latest decision.
 *
 * @since 0.1.0
 * @category metrics
 */
export const policyWait = fromMillis(Metric.gauge("adabatch_policy_wait_seconds", {
  description: "Wait chosen by the wait policy for the latest batch, from its oldest request (seconds)"
}))

/**
 * Recent arrival rate.
 *
 * @since 0.1.0
 * @category metrics
 */
export const arrivalRate = Metric.gauge("adabatch_arrival_rate", {
  description: "Recent arrival rate (requests per second)"
})
