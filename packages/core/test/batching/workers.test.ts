/**
 * Batch formation with several workers, and the adaptive policy's search (issue #13): queued
 * work is shared among free workers, no batch takes more than its share of the work in the
 * system, the wait knows the token budget, and the search probes below the sizes that form, only
 * under load, and follows a change of inputs.
 */
import { Batcher, BatchSizePolicy, BatchSizeSearch, WaitPolicy } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import { policies, recorder } from "./helpers.js"

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

const submitAll = (batcher: Batcher.Batcher<number, number>, n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => batcher.submit(i), { concurrency: "unbounded" })

describe("batch formation with several workers", () => {
  it.effect("work queued while every worker was free is shared among them, not taken by one", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run, workers: 4 }).pipe(Effect.provide(policies({ maxBatchSize: 64 })))
      const fiber = yield* Effect.forkChild(submitAll(batcher, 40))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      // a cap of 64 would let the first free worker take all 40 while three idle
      assert.deepStrictEqual(seen.map((b) => b.length), [10, 10, 10, 10])
    }).pipe(isolated))

  it.effect("a freed worker takes at most its share of the work in the system (queued and running)", () =>
    Effect.gen(function*() {
      // 2 workers, cap 100; 10 inputs start, then 30 more arrive while both run
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run, workers: 2 }).pipe(Effect.provide(policies({ maxBatchSize: 100 })))
      const first = yield* Effect.forkChild(submitAll(batcher, 10))
      yield* TestClock.adjust("1 millis")
      const more = yield* Effect.forkChild(submitAll(batcher, 30))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      yield* Fiber.join(more)
      assert.deepStrictEqual(seen.slice(0, 2).map((b) => b.length), [5, 5])
      // the first worker to free sees 30 queued and 5 running: (30 + 5) / 2 = 18, not all 30
      assert.strictEqual(seen[2]!.length, 18)
      assert.strictEqual(seen.flat().length, 40)
    }).pipe(isolated))

  it("the adaptive wait does not wait for inputs the token budget cannot admit", () => {
    const wait = WaitPolicy.makeAdaptive({ maxWaitMs: 10 })
    const ctx: WaitPolicy.WaitContext = {
      batchSize: 8,
      queued: 0,
      maxBatchSize: 8, // what the engine passes: the item cap, or fewer when the budget admits fewer
      oldestAgeMs: 0,
      idleWorkers: 1,
      workers: 1,
      nextFreeMs: Infinity,
      arrivalRatePerMs: 4,
      batchDurationMs: 20
    }
    assert.strictEqual(wait.waitMs(ctx), 0)
    assert.isAbove(wait.waitMs({ ...ctx, maxBatchSize: 32 }), 0)
    // and not when the batch cannot fill before another worker frees
    assert.strictEqual(wait.waitMs({ ...ctx, maxBatchSize: 32, workers: 2, nextFreeMs: 1 }), 0)
  })

  it.effect("a batch at its token budget is dispatched without waiting for more", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run, cost: () => 16, batchCost: "padded", drainTimeout: 0 }).pipe(
        Effect.provide(policies({ maxBatchSize: 64, maxBatchCost: 128, wait: WaitPolicy.fixed(1000) }))
      )
      // one request of 8 inputs of 16 tokens, queued at once: they fill the 128-token budget
      const fiber = yield* Effect.forkChild(batcher.submitAll([0, 1, 2, 3, 4, 5, 6, 7]))
      yield* TestClock.adjust("15 millis")
      assert.isDefined(fiber.pollUnsafe(), "the full batch waited for the 64-item cap")
      assert.deepStrictEqual(seen.map((b) => b.length), [8])
    }).pipe(isolated))
})

/**
 * Feeds the search batches of inputs of `tokens` tokens each, whose rate (tokens per ms) follows
 * `rate(size)`, at most `demand` inputs per batch; returns the batch sizes that formed.
 */
const drive = (
  search: BatchSizeSearch.Search,
  options: {
    readonly batches: number
    readonly tokens: number
    readonly rate: (size: number) => number
    readonly demand?: number
    readonly othersBusy?: boolean
  }
) => {
  const sizes: Array<number> = []
  for (let i = 0; i < options.batches; i++) {
    const limit = steps[search.limit()]!
    const fit = Math.max(1, Math.floor(limit / options.tokens))
    const size = Math.min(fit, options.demand ?? Infinity)
    sizes.push(size)
    const amount = size * options.tokens
    search.observe({
      amount,
      work: amount,
      size,
      durationMs: amount / options.rate(size),
      idleMs: 0,
      capped: size >= fit,
      othersBusy: options.othersBusy ?? false
    })
  }
  return sizes
}

const mode = (xs: ReadonlyArray<number>) => {
  const m = new Map<number, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return [...m].sort((a, b) => b[1] - a[1])[0]![0]
}

/** A token-budget ladder, as the server's (16 .. 16384 tokens). */
const steps = BatchSizePolicy.ladder(16, 16384)
const fresh = () => BatchSizeSearch.make({ steps, initial: steps.length - 1, targetLatencyMs: 1e9 })

/** Rate by batch size of 3-thread sessions at 128 tokens (issue #13): best at 8, a plateau from 32 up. */
const longRate = (n: number) =>
  128 * (n <= 8 ? 0.09 + (0.026 * Math.log2(n)) / 3 : n <= 32 ? 0.116 - (0.0285 * Math.log2(n / 8)) / 2 : 0.087)
/** Short inputs (16 tokens): the rate keeps rising with the batch. */
const shortRate = (n: number) => 16 * (0.44 + (0.39 * Math.log2(Math.min(n, 128))) / 7)

describe("BatchSizeSearch", () => {
  it("under load, finds a best size far below the batches that form, across a plateau", () => {
    const sizes = drive(fresh(), { batches: 1500, tokens: 128, rate: longRate })
    const settled = mode(sizes.slice(-300))
    assert.isAtLeast(settled, 5)
    assert.isAtMost(settled, 11)
  })

  it("with several workers, batches formed while every other worker was busy count as load though none is capped", () => {
    // 4 workers x 64 callers: every batch takes 64 inputs and none is capped; the best size is 8
    const sizes = drive(fresh(), { batches: 1500, tokens: 128, rate: longRate, demand: 64, othersBusy: true })
    assert.isAtMost(mode(sizes.slice(-300)), 16)
    // without that signal nothing says the load is there: the limit stays and the batches too
    const idle = drive(fresh(), { batches: 1500, tokens: 128, rate: longRate, demand: 64, othersBusy: false })
    assert.strictEqual(mode(idle.slice(-300)), 64)
  })

  it("follows a change of inputs (short after long) within a few hundred batches", () => {
    const search = fresh()
    drive(search, { batches: 1500, tokens: 128, rate: longRate })
    const after = drive(search, { batches: 400, tokens: 16, rate: shortRate })
    assert.isAtLeast(mode(after.slice(-150)), 64)
  })

  it("a batch formed under an earlier limit is not taken for a measurement of the current one", () => {
    const search = fresh()
    const before = search.state().decisions
    // batches of an older limit finishing late: no window fills, no decision is taken
    for (let i = 0; i < 100; i++) {
      search.observe({
        amount: 1024,
        work: 1024,
        size: 8,
        durationMs: 1,
        idleMs: 0,
        capped: true,
        othersBusy: false,
        formedUnder: 3
      })
    }
    assert.strictEqual(search.state().decisions, before)
  })
})
