import { BatchMetrics, DurationRecorder } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

describe("DurationRecorder", () => {
  it.effect("backs the histogram and the summary: counts, buckets, sum and quantiles in seconds", () =>
    isolated(Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const recorder = DurationRecorder.forContext(BatchMetrics.requestDuration, context)
      for (let ms = 1; ms <= 100; ms++) recorder.record(ms, 0)
      const histogram = yield* Metric.value(BatchMetrics.requestLatency)
      assert.strictEqual(histogram.count, 100)
      assert.closeTo(histogram.sum, 5.05, 1e-9)
      assert.closeTo(histogram.min, 0.001, 1e-12)
      assert.closeTo(histogram.max, 0.1, 1e-12)
      const le = (bound: number) => histogram.buckets.find(([b]) => b === bound)![1]
      assert.strictEqual(le(0.001), 1) // 1 ms lands in the le=0.001 bucket (bounds are inclusive)
      assert.strictEqual(le(0.002), 2)
      assert.strictEqual(le(0.01), 10)
      assert.strictEqual(le(0.05), 50)
      assert.strictEqual(le(0.1), 100)
      assert.strictEqual(le(30), 100)
      const summary = yield* Metric.value(BatchMetrics.requestLatencyQuantiles)
      assert.strictEqual(summary.count, 100)
      assert.deepStrictEqual(summary.quantiles.map(([q, v]) => [q, v === undefined ? v : Math.round(v * 1000)]), [
        [0.5, 50],
        [0.95, 95],
        [0.99, 99]
      ])
    })))

  it.effect("the summary forgets samples older than its window; the histogram keeps counting", () =>
    isolated(Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const recorder = DurationRecorder.forContext(BatchMetrics.queueWaitDuration, context)
      recorder.record(500, 0)
      yield* TestClock.adjust("61 seconds")
      recorder.record(2, 61_000)
      const summary = yield* Metric.value(BatchMetrics.queueWaitQuantiles)
      assert.deepStrictEqual(summary.quantiles.map(([, v]) => v), [0.002, 0.002, 0.002])
      assert.strictEqual(summary.count, 2)
      assert.strictEqual((yield* Metric.value(BatchMetrics.queueWait)).count, 2)
    })))

  it.effect("one recorder per registry, shared by every engine in it; the exporter reads it", () =>
    isolated(Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      const a = DurationRecorder.forContext(BatchMetrics.requestDuration, context)
      const b = DurationRecorder.forContext(BatchMetrics.requestDuration, context)
      assert.strictEqual(a, b)
      const other = DurationRecorder.forContext(
        BatchMetrics.requestDuration,
        Context.add(context, Metric.MetricRegistry, new Map())
      )
      assert.notStrictEqual(a, other)
      a.record(3, 0)
      b.record(4, 0)
      const text = yield* PrometheusMetrics.format()
      assert.include(text, "adabatch_request_duration_seconds_count 2")
      assert.include(text, "adabatch_request_duration_quantiles_seconds_count 2")
      assert.match(text, /adabatch_request_duration_quantiles_seconds\{quantile="0.5"\} 0.003\b/)
    })))

  it.effect("an empty recorder exports no quantiles and the metric defaults for min and max", () =>
    isolated(Effect.gen(function*() {
      const context = yield* Effect.context<never>()
      DurationRecorder.forContext(BatchMetrics.requestDuration, context)
      const summary = yield* Metric.value(BatchMetrics.requestLatencyQuantiles)
      assert.strictEqual(summary.count, 0)
      assert.deepStrictEqual(summary.quantiles.map(([, v]) => v), [undefined, undefined, undefined])
      assert.strictEqual(summary.min, Number.MAX_VALUE)
    })))
})
