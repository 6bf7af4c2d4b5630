import { Batcher, BatchMetrics } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { policies } from "./helpers.js"

const job = (cost: number, enqueuedAt = 0) => ({ cost, enqueuedAt })
const limits = { maxBatchSize: 4, maxBatchCost: Infinity }

describe("length bucketing (select)", () => {
  it("builds the batch around the oldest request from the inputs closest to it in cost", () => {
    const c = [job(10), job(100), job(12), job(95), job(9), job(11), job(90)]
    const { jobs, rest } = Batcher.select(c, limits, true, 1000, 0)
    assert.deepStrictEqual(jobs.map((j) => j.cost), [10, 12, 9, 11])
    assert.deepStrictEqual(rest.map((j) => j.cost), [100, 95, 90]) // FIFO order kept
  })
  it("always takes the oldest request, even when it is the odd one out", () => {
    const c = [job(200), job(10), job(10), job(10), job(10)]
    const { jobs } = Batcher.select(c, limits, true, 1000, 0)
    assert.strictEqual(jobs[0]!.cost, 200)
  })
  it("takes overdue requests first, so nothing is overtaken for more than maxOvertakeMs", () => {
    const c = [job(10, 0), job(300, 0), job(10, 90), job(10, 90), job(10, 90)]
    const { jobs } = Batcher.select(c, limits, true, 50, 100)
    assert.include(jobs.map((j) => j.cost), 300)
  })
  it("respects the padded token budget", () => {
    const c = [job(10), job(50), job(12), job(60), job(9)]
    const { jobs, cost } = Batcher.select(c, { maxBatchSize: 10, maxBatchCost: 40 }, true, 1000, 0)
    assert.isAtMost(Math.max(...jobs.map((j) => j.cost)) * jobs.length, 40)
    assert.strictEqual(cost, 12 * 3)
  })
})

describe("engine with bucketing", () => {
  it.effect("under load, batches group similar lengths and pad less than FIFO", () =>
    Effect.gen(function*() {
      const padding = { fifo: 0, bucketed: 0 }
      for (const mode of ["fifo", "bucketed"] as const) {
        const seen: Array<ReadonlyArray<number>> = []
        const run = (b: ReadonlyArray<number>) => Effect.as(Effect.sleep(10), (seen.push(b.slice()), b))
        const batcher = yield* Batcher.make({
          run,
          cost: (x: number) => x,
          batchCost: "padded",
          bucketing: mode === "bucketed" ? { lookahead: 4, maxOvertakeMs: 1000 } : undefined
        }).pipe(Effect.provide(policies({ maxBatchSize: 4 })))
        const costs = Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? 8 : 120) + (i % 5))
        const fiber = yield* Effect.forEach(costs, (x) => batcher.submit(x), { concurrency: "unbounded" }).pipe(
          Effect.forkChild
        )
        yield* TestClock.adjust("10 seconds")
        assert.deepStrictEqual(yield* Fiber.join(fiber), costs)
        for (const b of seen) padding[mode] += Math.max(...b) * b.length - b.reduce((a, x) => a + x, 0)
      }
      assert.isBelow(padding.bucketed, padding.fifo / 2)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})

describe("metrics", () => {
  it.effect("every KPI of the seed is exported and derivable", () =>
    Effect.gen(function*() {
      const run = (b: ReadonlyArray<number>) => Effect.as(Effect.sleep(5), b)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 8, capacity: 20, overflow: "reject" }))
      )
      const fibers = yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) =>
        Effect.forkChild(Effect.exit(batcher.submit(i))))
      yield* TestClock.adjust("1 second")
      for (const f of fibers) {
        yield* Fiber.join(f)
      }
      const ok = (yield* Metric.value(BatchMetrics.requestsByOutcome.ok)).count
      const rejected = (yield* Metric.value(BatchMetrics.requestsByOutcome.rejected)).count
      assert.strictEqual(ok + rejected, 30)
      assert.strictEqual(rejected, 10) // one dispatched at once, 20 queued behind it... the rest refused
      const sizes = yield* Metric.value(BatchMetrics.batchSize)
      assert.strictEqual(sizes.sum, ok) // mean batch size = sum / count
      assert.isAtMost(sizes.max, 8)
      const latency = yield* Metric.value(BatchMetrics.requestLatencyQuantiles)
      assert.strictEqual(latency.count, ok)
      const text = yield* PrometheusMetrics.format()
      for (
        const name of [
          "adabatch_requests_total",
          "adabatch_rejections_total",
          "adabatch_request_duration_seconds_bucket",
          "adabatch_request_duration_quantiles_seconds",
          "adabatch_queue_wait_seconds_bucket",
          "adabatch_queue_wait_quantiles_seconds",
          "adabatch_batch_size_bucket",
          "adabatch_batch_cost_bucket",
          "adabatch_batch_duration_seconds_bucket",
          "adabatch_batch_efficiency_bucket",
          "adabatch_queue_depth",
          "adabatch_queue_capacity",
          "adabatch_queue_utilisation",
          "adabatch_batches_in_flight",
          "adabatch_policy_max_batch_size",
          "adabatch_policy_wait_seconds",
          "adabatch_arrival_rate"
        ]
      ) {
        assert.include(text, name)
      }
      assert.include(text, "adabatch_requests_total{outcome=\"rejected\"} 10")
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
