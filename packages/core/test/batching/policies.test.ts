import { Batcher, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"

/** Drives a policy with a simulated batch function: duration(n) ms for a full batch of n. */
const converge = (policy: BatchSizePolicy.BatchSizePolicy["Service"], duration: (n: number) => number, rounds = 400) =>
  Effect.gen(function*() {
    const chosen: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      const { maxBatchSize } = yield* policy.current
      chosen.push(maxBatchSize)
      yield* policy.observe({
        size: maxBatchSize,
        cost: maxBatchSize,
        work: maxBatchSize,
        durationMs: duration(maxBatchSize),
        capped: true
      })
    }
    return chosen
  })

const tail = (xs: ReadonlyArray<number>) => xs.slice(-100)
const mode = (xs: ReadonlyArray<number>) => {
  const m = new Map<number, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return [...m].sort((a, b) => b[1] - a[1])[0]![0]
}

describe("BatchSizePolicy.adaptive", () => {
  it.effect("settles near 8 when per-item cost rises beyond batch 8", () =>
    Effect.gen(function*() {
      // 10 ms fixed + 2 ms per item up to 8, then per-item cost grows with the batch (ONNX at long sequences)
      const duration = (n: number) => 10 + 2 * n + (n > 8 ? 0.9 * (n - 8) ** 2 : 0)
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 128 })
      const chosen = yield* converge(policy, duration)
      const settled = mode(tail(chosen))
      assert.isAtLeast(settled, 6)
      assert.isAtMost(settled, 11)
      // it spends most of its time there, probing neighbours only now and then
      assert.isAtLeast(tail(chosen).filter((x) => x === settled).length, 70)
    }))

  it.effect("grows to the cap when batching is cheap", () =>
    Effect.gen(function*() {
      const duration = (n: number) => 20 + 0.5 * n // per-item cost falls with the batch size
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 64, initial: 2 })
      const chosen = yield* converge(policy, duration)
      assert.strictEqual(mode(tail(chosen)), 64)
    }))

  it.effect("stays under the latency target", () =>
    Effect.gen(function*() {
      const duration = (n: number) => 5 * n // linear: throughput flat, latency grows
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 64, targetLatencyMs: 100 })
      const chosen = yield* converge(policy, duration)
      for (const n of tail(chosen)) assert.isAtMost(duration(n), 100 * Math.SQRT2)
      assert.isAtMost(mode(tail(chosen)), 20)
    }))

  it.effect("learns a token budget when a cost budget is configured", () =>
    Effect.gen(function*() {
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 256, maxBatchCost: 16384 })
      // throughput peaks around 1024 padded tokens per batch
      for (let i = 0; i < 400; i++) {
        const { maxBatchCost } = yield* policy.current
        const d = 5 + maxBatchCost / 100 + (maxBatchCost > 1024 ? ((maxBatchCost - 1024) / 200) ** 2 : 0)
        yield* policy.observe({ size: 8, cost: maxBatchCost, work: maxBatchCost, durationMs: d, capped: true })
      }
      const { maxBatchCost, maxBatchSize } = yield* policy.current
      assert.strictEqual(maxBatchSize, 256)
      assert.isAtLeast(maxBatchCost, 512)
      assert.isAtMost(maxBatchCost, 2048)
    }))

  it.effect("with a token budget, finds a small optimum hidden behind the item cap (long inputs)", () =>
    Effect.gen(function*() {
      // 128-token inputs, item cap 32 (4096 tokens) far below the 16384 budget; throughput per token
      // peaks at 1024 padded tokens (8 items), as ONNX does at sequence length 128
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 32, maxBatchCost: 16384 })
      const items: Array<number> = []
      for (let i = 0; i < 600; i++) {
        const { maxBatchCost, maxBatchSize } = yield* policy.current
        const n = Math.max(1, Math.min(maxBatchSize, Math.floor(maxBatchCost / 128)))
        items.push(n)
        const tokens = n * 128
        const d = 2 + tokens / 64 + (tokens > 1024 ? ((tokens - 1024) / 256) ** 2 : 0)
        yield* policy.observe({ size: n, cost: tokens, work: tokens, durationMs: d, capped: true })
      }
      const settled = mode(tail(items))
      assert.isAtLeast(settled, 5)
      assert.isAtMost(settled, 11)
    }))

  it.effect("light load (uncapped batches) does not move the cap", () =>
    Effect.gen(function*() {
      const policy = BatchSizePolicy.makeAdaptive({ maxBatchSize: 32 })
      for (let i = 0; i < 100; i++) {
        yield* policy.observe({ size: 1, cost: 1, work: 1, durationMs: 3, capped: false })
      }
      assert.strictEqual((yield* policy.current).maxBatchSize, 32)
    }))

  it("the ladder is geometric, integer and includes both ends", () => {
    const l = BatchSizePolicy.ladder(1, 64)
    assert.strictEqual(l[0], 1)
    assert.strictEqual(l[l.length - 1], 64)
    for (let i = 1; i < l.length; i++) assert.isAbove(l[i]!, l[i - 1]!)
  })
})

describe("WaitPolicy.adaptive", () => {
  const base: WaitPolicy.WaitContext = {
    batchSize: 1,
    queued: 0,
    maxBatchSize: 32,
    oldestAgeMs: 0,
    idleWorkers: 1,
    workers: 1,
    nextFreeMs: Infinity,
    arrivalRatePerMs: 0,
    batchDurationMs: 20
  }
  const policy = WaitPolicy.makeAdaptive({ maxWaitMs: 10 })
  it("never waits without a known arrival rate, nor when another worker is idle, nor when full", () => {
    assert.strictEqual(policy.waitMs(base), 0)
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 5, idleWorkers: 2, workers: 2 }), 0)
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 5, batchSize: 32 }), 0)
  })
  it("never waits when the next arrival is not expected within the bound (lone requests go at once)", () => {
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 0.05 }), 0) // one every 20 ms > 10 ms
  })
  it("never waits when the engine sat idle for longer than the bound before the oldest request", () => {
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 1, idleMs: 10 }), 0)
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 1, batchDurationMs: 8, idleMs: 4 }), 0)
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 1, idleMs: 9 }), 10) // shorter: it still waits
  })
  it("waits the expected fill time, bounded by maxWaitMs and half a batch, from the oldest request", () => {
    assert.closeTo(policy.waitMs({ ...base, arrivalRatePerMs: 4 }), 31 / 4, 1e-9) // 31 missing at 4 per ms
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 1 }), 10) // 31 ms capped to 10
    assert.strictEqual(policy.waitMs({ ...base, arrivalRatePerMs: 1, batchDurationMs: 8 }), 4) // half a batch
    assert.closeTo(policy.waitMs({ ...base, arrivalRatePerMs: 8, oldestAgeMs: 3 }), 3 + 31 / 8, 1e-9)
  })
})

describe("QueuePolicy", () => {
  it("rejects a dynamic capacity with back-pressure, and bad numbers, with clear messages", () => {
    assert.throws(
      () => QueuePolicy.make({ capacity: 10, overflow: "backpressure", dynamic: { floor: 5, ceiling: 20 } }),
      /needs overflow "reject"/
    )
    assert.throws(() => QueuePolicy.make({ capacity: 0, overflow: "reject" }), /capacity must be a positive integer/)
  })
  it("dynamic capacity grows x1.5 above 5 % rejections and shrinks x0.8 below 30 % utilisation", () => {
    const q = QueuePolicy.make({ capacity: 100, overflow: "reject", dynamic: { floor: 100, ceiling: 400 } })
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 10, peakUtilisation: 1 }), 150)
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 10, peakUtilisation: 1 }), 225)
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 10, peakUtilisation: 1 }), 338)
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 10, peakUtilisation: 1 }), 400)
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 0, peakUtilisation: 0.1 }), 320)
    assert.strictEqual(q.adjust({ submitted: 100, rejected: 0, peakUtilisation: 0.5 }), 320)
    for (let i = 0; i < 20; i++) q.adjust({ submitted: 0, rejected: 0, peakUtilisation: 0 })
    assert.strictEqual(q.capacity(), 100)
  })

  it.effect("the engine grows a dynamic queue under sustained rejection", () =>
    Effect.gen(function*() {
      const run = (b: ReadonlyArray<number>) => Effect.as(Effect.sleep(100), b)
      const layer = Layer.mergeAll(
        BatchSizePolicy.fixed({ maxBatchSize: 4 }),
        WaitPolicy.none,
        QueuePolicy.layer({ capacity: 8, overflow: "reject", dynamic: { floor: 8, ceiling: 64, windowMs: 50 } })
      )
      const batcher = yield* Batcher.make({ run }).pipe(Effect.provide(layer))
      const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
      for (let t = 0; t < 20; t++) {
        for (let i = 0; i < 10; i++) fibers.push(yield* Effect.forkChild(Effect.exit(batcher.submit(i))))
        yield* TestClock.adjust("20 millis")
      }
      const snap = yield* batcher.snapshot
      assert.isAbove(snap.capacity, 8)
      yield* TestClock.adjust("60 seconds")
      for (const f of fibers) yield* Fiber.join(f)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
