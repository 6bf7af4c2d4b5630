/**
 * Large `submitAll` requests (more inputs than the feed window): admitted without room for all of
 * them, fed into the queue a window at a time, and never ahead of the requests beside them for
 * more than one window.
 */
import { Batcher, BatchError, BatchMetrics } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import { policies, recorder } from "./helpers.js"

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

describe("large requests", () => {
  it.effect("reject: a request of 5x the queue's capacity is admitted and every input is answered, in order", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 8, overflow: "reject" }))
      )
      assert.isUndefined(batcher.precheck(40)) // room for one window (4) is enough
      const all = yield* Effect.forkChild(batcher.submitAll(range(0, 40)))
      let peak = 0
      for (let i = 0; i < 12; i++) {
        yield* TestClock.adjust("10 millis")
        peak = Math.max(peak, (yield* batcher.snapshot).queued)
      }
      const timed = yield* Fiber.join(all)
      assert.deepStrictEqual(timed.map((t) => t.value), range(0, 40).map((x) => x * 2))
      assert.isAtMost(peak, 4) // one window queued at a time
      assert.deepStrictEqual(seen.flat().sort((a, b) => a - b), range(0, 40))
      assert.isTrue(seen.every((b) => b.length <= 4))
    }).pipe(isolated))

  it.effect("a request submitted beside a large one waits for one window, not for the whole request", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 1000, overflow: "reject" }))
      )
      const large = yield* Effect.forkChild(batcher.submitAll(range(0, 100)))
      yield* TestClock.adjust("25 millis") // a few batches of the large request have run
      const single = yield* Effect.forkChild(batcher.submit(1000))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(single), 2000)
      assert.strictEqual((yield* Fiber.join(large)).length, 100)
      const at = seen.findIndex((batch) => batch.includes(1000))
      // batches 0-2 ran before it was submitted; it is in the next batch or the one after
      assert.isAtMost(at, 5)
      assert.isBelow(seen.slice(0, at + 1).flat().length, 30)
    }).pipe(isolated))

  it.effect("a large request waits for room when others fill the queue, and is refused when not even a window fits", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const run = (batch: ReadonlyArray<number>) => Effect.as(Deferred.await(gate), batch)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 10, overflow: "reject" }))
      )
      const busy = yield* Effect.forkChild(batcher.submitAll(range(0, 4))) // running, blocked on the gate
      yield* TestClock.adjust("1 millis")
      const queued = yield* Effect.forkChild(batcher.submitAll(range(10, 4))) // 4 queued: room for 6
      yield* TestClock.adjust("1 millis")
      const large = yield* Effect.forkChild(batcher.submitAll(range(100, 20))) // a window of 4 fits
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* batcher.snapshot).queued, 8)
      const refused = yield* Effect.flip(batcher.submitAll(range(200, 20))) // room for 2 < one window
      assert.instanceOf(refused, BatchError.QueueFull)
      assert.instanceOf(batcher.precheck(20), BatchError.QueueFull)
      assert.isUndefined(batcher.precheck(2))
      yield* Deferred.succeed(gate, void 0)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(large)).length, 20)
      yield* Fiber.join(busy)
      yield* Fiber.join(queued)
    }).pipe(isolated))

  it.effect("back-pressure: a large request is fed too, and keeps one window queued", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 6, overflow: "backpressure" }))
      )
      const a = yield* Effect.forkChild(batcher.submitAll(range(0, 30)))
      const b = yield* Effect.forkChild(batcher.submitAll(range(100, 30)))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Fiber.join(a)).length, 30)
      assert.strictEqual((yield* Fiber.join(b)).length, 30)
      assert.strictEqual(seen.flat().length, 60)
      // both are fed side by side: B's first inputs do not wait for all of A's
      const firstB = seen.findIndex((batch) => batch.some((x) => x >= 100))
      assert.isBelow(firstB, 3)
    }).pipe(isolated))

  it.effect("a large request whose deadline passes gets DeadlineExceeded, and its rest is never computed", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 1000, overflow: "reject" }))
      )
      // 100 inputs, 4 per 100 ms: about 2.5 s of work against a 1 s budget
      const large = yield* Effect.forkChild(Effect.flip(batcher.submitAll(range(0, 100), { timeout: "1 second" })))
      yield* TestClock.adjust("3 seconds")
      assert.instanceOf(yield* Fiber.join(large), BatchError.DeadlineExceeded)
      assert.isBelow(seen.flat().length, 60)
      assert.strictEqual((yield* batcher.snapshot).queued, 0)
      const outcomes = BatchMetrics.requestsByOutcome
      const ok = (yield* Metric.value(outcomes.ok)).count
      const expired = (yield* Metric.value(outcomes.expired)).count
      const cancelled = (yield* Metric.value(outcomes.cancelled)).count
      assert.strictEqual(ok + expired + cancelled, 100) // every input is counted once
    }).pipe(isolated))

  it.effect("interrupting a large request stops its feeding", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 1000, overflow: "reject" }))
      )
      const large = yield* Effect.forkChild(batcher.submitAll(range(0, 100)))
      yield* TestClock.adjust("250 millis")
      yield* Fiber.interrupt(large)
      yield* TestClock.adjust("5 seconds")
      assert.isBelow(seen.flat().length, 20)
      assert.strictEqual((yield* batcher.snapshot).queued, 0)
      const after = yield* Effect.forkChild(batcher.submit(7))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(after), 14) // the engine goes on
    }).pipe(isolated))

  it.effect("closing the engine ends a large request still feeding with ShuttingDown", () =>
    Effect.gen(function*() {
      const { run } = recorder<number>(100)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ run, drainTimeout: "10 seconds" }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 1000, overflow: "reject" })),
        Scope.provide(scope)
      )
      const large = yield* Effect.forkChild(Effect.flip(batcher.submitAll(range(0, 100))))
      yield* TestClock.adjust("150 millis")
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      const error = yield* Fiber.join(large)
      assert.instanceOf(error, BatchError.ShuttingDown)
    }).pipe(isolated))
})
