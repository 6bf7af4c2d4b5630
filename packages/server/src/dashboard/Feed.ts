/**
 * The dashboard's data: a sampler that runs with the server, once a second reads the metric
 * registry (`MetricTotals`), the engine's snapshot and the event-loop delay, and keeps the last
 * minutes of per-second samples in a ring for `GET /dashboard/feed`.
 *
 * Polled JSON rather than Server-Sent Events: a stream would hold a request open for as long as
 * a page watches, and shutdown waits for every request to be answered.
 *
 * The event-loop delay comes from `perf_hooks.monitorEventLoopDelay` (a timer every 10 ms; the
 * delay is how late it fired, its 10 ms period subtracted).
 *
 * @since 0.1.0
 */
import type { Batcher } from "@adabatch/core"
import { Duration, Effect, Schedule, type Scope } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { ServerState } from "../ServerState.js"
import type { Feed as FeedBody, Sample } from "./FeedSchema.js"
import * as MetricTotals from "./MetricTotals.js"

/**
 * Sampler settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface FeedOptions {
  /** Time between samples (default 1000 ms). */
  readonly intervalMs?: number | undefined
  /** How far back samples are kept (default 300 s). */
  readonly windowSeconds?: number | undefined
}

/**
 * A running sampler.
 *
 * @since 0.1.0
 * @category models
 */
export interface Feed {
  /** The feed body: the samples taken after `since` (Unix seconds), or all kept ones. */
  readonly body: (since: number | undefined) => FeedBody
}

const resolutionMs = 10

const nsToDelayMs = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs)

const round = (x: number | undefined, digits = 3): number | null => {
  if (x === undefined || !Number.isFinite(x)) return null
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const phaseName = (state: ServerState): FeedBody["phase"] =>
  state.phase._tag === "Loading" ? "loading" : state.phase._tag === "Ready" ? "ready" : "draining"

type Snapshot = Batcher.BatcherSnapshot | undefined

/** The engine's levels at the sample, when it is up. */
const levels = (state: ServerState): Effect.Effect<Snapshot> =>
  state.phase._tag === "Ready" ? state.phase.embedder.snapshot : Effect.succeed(undefined)

/**
 * The sample of the interval between two readings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sample = (
  now: MetricTotals.Totals,
  before: MetricTotals.Totals,
  snapshot: Snapshot,
  eventLoop: { readonly p50: number; readonly p99: number; readonly max: number } | undefined,
  t: number
): Sample => {
  const seconds = Math.max(1e-3, (now.at - before.at) / 1000)
  const rate = (n: number) => round(Math.max(0, n) / seconds) ?? 0
  const latency = MetricTotals.difference(now.latency, before.latency)
  const ms = (x: number | undefined) => round(x === undefined ? undefined : x * 1000)
  const batches = MetricTotals.difference(now.batchSize, before.batchSize)
  const cost = MetricTotals.difference(now.batchCost, before.batchCost)
  const busySeconds = now.batchDuration.sum - before.batchDuration.sum
  const workers = snapshot?.workers
  return {
    t: round(t) ?? 0,
    requests_ok: rate(now.requests.ok - before.requests.ok),
    requests_client_error: rate(now.requests.client_error - before.requests.client_error),
    requests_overloaded: rate(now.requests.overloaded - before.requests.overloaded),
    requests_unavailable: rate(now.requests.unavailable - before.requests.unavailable),
    requests_timeout: rate(now.requests.timeout - before.requests.timeout),
    requests_server_error: rate(now.requests.server_error - before.requests.server_error),
    requests_gone: rate(now.requests.gone - before.requests.gone),
    latency_p50_ms: ms(MetricTotals.quantile(latency, 0.5)),
    latency_p95_ms: ms(MetricTotals.quantile(latency, 0.95)),
    latency_p99_ms: ms(MetricTotals.quantile(latency, 0.99)),
    queue_depth: snapshot?.queued ?? 0,
    queue_capacity: snapshot?.capacity ?? 0,
    batches_per_s: rate(batches.count),
    batch_size_mean: round(MetricTotals.mean(batches), 2),
    batch_size_cap: snapshot?.maxBatchSize ?? null,
    batch_cost_mean: round(MetricTotals.mean(cost), 1),
    batch_budget: round(snapshot?.maxBatchCost),
    wait_ms: round(snapshot?.maxWaitMs),
    queue_wait_p95_ms: ms(MetricTotals.quantile(MetricTotals.difference(now.queueWait, before.queueWait), 0.95)),
    worker_utilisation: workers === undefined || workers <= 0
      ? null
      : round(Math.min(1, Math.max(0, busySeconds / seconds / workers))),
    busy_workers: snapshot?.busyWorkers ?? null,
    workers: workers ?? null,
    tokens_per_s: rate(now.tokens.sum - before.tokens.sum),
    padded_tokens_per_s: rate(cost.sum),
    event_loop_p50_ms: round(eventLoop?.p50),
    event_loop_p99_ms: round(eventLoop?.p99),
    event_loop_max_ms: round(eventLoop?.max)
  }
}

/**
 * Starts the sampler in the current scope (it stops when the scope closes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (state: ServerState, options: FeedOptions = {}): Effect.Effect<Feed, never, Scope.Scope> =>
  Effect.gen(function*() {
    const intervalMs = options.intervalMs ?? 1000
    const windowSeconds = options.windowSeconds ?? 300
    const keep = Math.max(1, Math.ceil((windowSeconds * 1000) / intervalMs))
    const samples: Array<Sample> = []
    const loop = monitorEventLoopDelay({ resolution: resolutionMs })
    loop.enable()
    yield* Effect.addFinalizer(() => Effect.sync(() => loop.disable()))
    const context = yield* Effect.context<never>()
    let before = MetricTotals.read(context, performance.now())

    const tick = Effect.gen(function*() {
      const snapshot = yield* levels(state)
      const now = MetricTotals.read(context, performance.now())
      const eventLoop = loop.count > 0
        ? {
          p50: nsToDelayMs(loop.percentile(50)),
          p99: nsToDelayMs(loop.percentile(99)),
          max: nsToDelayMs(loop.max)
        }
        : undefined
      loop.reset()
      samples.push(sample(now, before, snapshot, eventLoop, Date.now() / 1000))
      if (samples.length > keep) samples.splice(0, samples.length - keep)
      before = now
    })
    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(intervalMs))),
      Effect.delay(Duration.millis(intervalMs)),
      Effect.forkScoped
    )

    return {
      body: (since) => ({
        interval_ms: intervalMs,
        window_s: windowSeconds,
        phase: phaseName(state),
        model: state.phase._tag === "Ready" ? state.phase.embedder.info.id : null,
        samples: since === undefined ? samples.slice() : samples.filter((s) => s.t > since)
      })
    }
  })
