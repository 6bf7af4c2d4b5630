/**
 * The dashboard feed (`GET /dashboard/feed`) as Schemas: one sample per second over the last
 * minutes, each the rates and levels of that second. Rates are per second; `null` means "nothing to
 * measure in that second" (no request answered, no batch run) and leaves a gap in the chart.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Rate = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

const Level = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const Maybe = <S extends Schema.Top>(schema: S, description: string) => Schema.NullOr(schema).annotate({ description })

/**
 * One second of the server.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Sample = Schema.Struct({
  t: Schema.Finite.annotate({ description: "end of the second sampled, Unix time in seconds" }),
  requests_ok: Rate.annotate({ description: "answers 2xx per second (API routes: not the probes, docs or dashboard)" }),
  requests_client_error: Rate.annotate({ description: "answers 4xx other than 429 per second" }),
  requests_overloaded: Rate.annotate({ description: "answers 429 per second" }),
  requests_unavailable: Rate.annotate({ description: "answers 503 per second" }),
  requests_timeout: Rate.annotate({ description: "answers 504 per second" }),
  requests_server_error: Rate.annotate({ description: "answers 5xx other than 503 and 504 per second" }),
  requests_gone: Rate.annotate({ description: "requests whose client went away first (499) per second" }),
  latency_p50_ms: Maybe(Rate, "median request latency of the API routes in that second, every answer counted, ms"),
  latency_p95_ms: Maybe(Rate, "95th percentile, ms"),
  latency_p99_ms: Maybe(Rate, "99th percentile, ms"),
  queue_depth: Level.annotate({ description: "inputs waiting for a batch" }),
  queue_capacity: Level.annotate({ description: "queue capacity in force" }),
  batches_per_s: Rate,
  batch_size_mean: Maybe(Rate, "mean inputs per batch"),
  batch_size_cap: Maybe(Level, "the batch-size policy's current item cap"),
  batch_cost_mean: Maybe(Rate, "mean padded tokens per batch"),
  batch_budget: Maybe(Rate, "the batch-size policy's current token budget (null: none)"),
  wait_ms: Maybe(Rate, "the wait policy's current longest wait for a batch to fill, ms"),
  queue_wait_p95_ms: Maybe(Rate, "95th percentile of the time inputs queued in that second, ms"),
  worker_utilisation: Maybe(Rate, "share of the workers' time spent running batches (0 to 1)"),
  busy_workers: Maybe(Level, "workers running a batch at the sample"),
  workers: Maybe(Level, "inference workers"),
  tokens_per_s: Rate.annotate({ description: "tokens computed per second (padding excluded)" }),
  padded_tokens_per_s: Rate.annotate({ description: "tokens computed per second, padding included" }),
  event_loop_p50_ms: Maybe(Rate, "median event-loop delay, ms (perf_hooks.monitorEventLoopDelay)"),
  event_loop_p99_ms: Maybe(Rate, "99th percentile event-loop delay, ms"),
  event_loop_max_ms: Maybe(Rate, "longest event-loop delay, ms")
}).annotate({ identifier: "DashboardSample" })

/**
 * @since 0.1.0
 * @category models
 */
export type Sample = typeof Sample.Type

/**
 * The feed: the samples newer than `since` (all kept ones without it), oldest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Feed = Schema.Struct({
  interval_ms: Level.annotate({ description: "time between samples" }),
  window_s: Level.annotate({ description: "how far back the samples are kept" }),
  phase: Schema.Literals(["loading", "ready", "draining"]),
  model: Schema.NullOr(Schema.String),
  samples: Schema.Array(Sample)
}).annotate({ identifier: "DashboardFeed" })

/**
 * @since 0.1.0
 * @category models
 */
export type Feed = typeof Feed.Type
