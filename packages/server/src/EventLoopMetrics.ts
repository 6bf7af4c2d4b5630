/**
 * The main thread's event-loop delay, exported on `GET /metrics` as the Prometheus histogram
 * `adabatch_event_loop_delay_seconds`.
 *
 * A timer asks to run every {@link SAMPLE_MS} ms; how late it runs is how long the event loop
 * was held by other work, and so how long any request arriving then waited before the server even
 * read it. Each tick is one observation: a 1 s stall is one observation of about 1 s among a
 * hundred a second near zero, so the buckets above 50 ms count the stalls and `_sum` their time.
 *
 * @since 0.1.0
 */
import { Effect, Metric, type Scope } from "effect"

/**
 * How often the sampler asks to run, in ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const SAMPLE_MS = 10

/**
 * Event-loop delay per sample, in seconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const eventLoopDelay: Metric.Histogram<number> = Metric.histogram("adabatch_event_loop_delay_seconds", {
  description: `How late a timer set every ${SAMPLE_MS} ms ran on the main thread (time the event loop was held ` +
    "by other work), in seconds",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

/**
 * Samples the event-loop delay into {@link eventLoopDelay} until the scope closes. The timer does
 * not keep the process alive.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sample: Effect.Effect<void, never, Scope.Scope> = Effect.gen(function*() {
  const context = yield* Effect.context<never>()
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (due: number) => {
    timer = setTimeout(tick, SAMPLE_MS, due)
    timer.unref()
  }
  const tick = (due: number) => {
    const now = performance.now()
    eventLoopDelay.updateUnsafe(Math.max(0, now - due) / 1000, context)
    arm(now + SAMPLE_MS)
  }
  yield* Effect.acquireRelease(
    Effect.sync(() => arm(performance.now() + SAMPLE_MS)),
    () => Effect.sync(() => clearTimeout(timer))
  )
})
