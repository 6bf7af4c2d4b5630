/**
 * HTTP request metrics, exported with the engine's metrics on `GET /metrics`:
 *
 * - `adabatch_http_requests_total{route, method, status}`: requests answered (status `499`: the
 *   client went away first);
 * - `adabatch_http_request_duration_seconds{route}`: time from request start to response;
 * - `adabatch_http_request_inputs{route}`: inputs per embedding request;
 * - `adabatch_http_requests_in_flight`: requests being handled.
 *
 * `route` is the matched route (`/embed`, `/v1/embeddings`, ...) or `unmatched`, so arbitrary
 * paths cannot grow the number of series.
 *
 * @since 0.1.0
 */
import { type Context, Effect, Metric } from "effect"

const requestsTotal = "adabatch_http_requests_total"
const requestsDescription = "HTTP requests answered, by route, method and status (499: the client went away first)"

// Each route's series is a metric built with its `route` attribute (`Metric.withAttributes` would
// make a new context and series key on every update).
const durationHistogram = (route: string) =>
  Metric.histogram("adabatch_http_request_duration_seconds", {
    description: "HTTP request duration from request start to response, in seconds",
    boundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    attributes: { route }
  })

const inputsHistogram = (route: string) =>
  Metric.histogram("adabatch_http_request_inputs", {
    description: "Inputs per embedding request",
    boundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    attributes: { route }
  })

/**
 * Requests currently being handled (set when `/metrics` is read).
 *
 * @since 0.1.0
 * @category metrics
 */
export const inFlight = Metric.gauge("adabatch_http_requests_in_flight", {
  description: "HTTP requests being handled"
})

const counters = new Map<string, Map<number, Metric.Counter<number>>>()
const durations = new Map<string, Metric.Histogram<number>>()
const inputs = new Map<string, Metric.Histogram<number>>()

const counterFor = (route: string, method: string, status: number): Metric.Counter<number> => {
  const key = route + method
  let byStatus = counters.get(key)
  if (byStatus === undefined) {
    byStatus = new Map()
    counters.set(key, byStatus)
  }
  let counter = byStatus.get(status)
  if (counter === undefined) {
    counter = Metric.counter(requestsTotal, {
      description: requestsDescription,
      incremental: true,
      attributes: { route, method, status: String(status) }
    })
    byStatus.set(status, counter)
  }
  return counter
}

const cached = <M>(map: Map<string, M>, route: string, make: () => M): M => {
  let metric = map.get(route)
  if (metric === undefined) {
    metric = make()
    map.set(route, metric)
  }
  return metric
}

/**
 * Records one answered request synchronously, in the metric registry of `context`: its count, its
 * duration and, for embedding requests (`inputs > 0`), its number of inputs.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordUnsafe = (
  context: Context.Context<never>,
  route: string,
  method: string,
  status: number,
  seconds: number,
  inputCount: number
): void => {
  counterFor(route, method, status).updateUnsafe(1, context)
  cached(durations, route, () => durationHistogram(route)).updateUnsafe(seconds, context)
  if (inputCount > 0) {
    cached(inputs, route, () => inputsHistogram(route)).updateUnsafe(inputCount, context)
  }
}

/**
 * The value of `adabatch_http_requests_total` for one series (tests).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestCount = (route: string, method: string, status: number): Effect.Effect<number> =>
  Effect.map(Metric.value(counterFor(route, method, status)), (state) => Number(state.count))
