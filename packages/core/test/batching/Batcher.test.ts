import { Batcher, BatchError, BatchMetrics, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import { policies, recorder } from "./helpers.js"

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

describe("Batcher", () => {
  it.effect("a lone request at an idle engine is dispatched without any timer firing", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>()
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ wait: WaitPolicy.adaptive({ maxWaitMs: 500 }) }))
      )
      // TestClock never advances in this test: if the engine waited on any timer, this would hang.
      const out = yield* batcher.submit(21)
      assert.strictEqual(out, 42)
      assert.deepStrictEqual(seen, [[21]])
    }).pipe(isolated))

  it.effect("after a burst, a lone request that finds the engine idle longer than the wait bound does not wait", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 32, wait: WaitPolicy.adaptive({ maxWaitMs: 5 }) }))
      )
      // 200 at once: the arrival rate estimate jumps; batches of 10 ms run back to back
      const burst = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => batcher.submit(i), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      while (seen.flat().length < 200) yield* TestClock.adjust("10 millis")
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(burst)
      const snapshot = yield* batcher.snapshot
      // the moving average still says one arrival every ~2 ms: a 5 ms wait would look worth it
      assert.isAbove(snapshot.arrivalRate, 1000 / 5)
      yield* TestClock.adjust("6 millis") // idle, longer than the 5 ms bound
      const lone = yield* Effect.forkChild(batcher.submit(1000))
      for (let i = 0; i < 20 && seen.at(-1)?.[0] !== 1000; i++) yield* Effect.yieldNow
      const dispatchedAtOnce = seen.at(-1)?.[0] === 1000 // with the clock standing still
      yield* TestClock.adjust("20 millis")
      assert.strictEqual(yield* Fiber.join(lone), 2000)
      assert.isTrue(dispatchedAtOnce)
    }).pipe(isolated))

  it.effect("requests that reach an idle engine in the same event-loop turn go out together, at once", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, wait: WaitPolicy.adaptive({ maxWaitMs: 500 }) }))
      )
      // six callbacks of one event-loop turn (as six requests read from six sockets would be)
      const fibers: Array<Fiber.Fiber<number, unknown>> = []
      for (const i of [1, 2, 3, 4, 5, 6]) setImmediate(() => fibers.push(Effect.runFork(batcher.submit(i))))
      for (let i = 0; i < 20 && seen.length === 0; i++) yield* Effect.yieldNow
      // dispatched with the clock standing still: the first four (the cap) as one batch
      const atOnce = seen.map((b) => [...b])
      const busyWorkers = (yield* batcher.snapshot).busyWorkers
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(yield* Effect.forEach(fibers, Fiber.join), [2, 4, 6, 8, 10, 12])
      assert.deepStrictEqual(atOnce, [[1, 2, 3, 4]])
      assert.strictEqual(busyWorkers, 1)
      // the two beyond the cap waited for the worker instead of running beside the first batch
      assert.deepStrictEqual(seen, [[1, 2, 3, 4], [5, 6]])
    }).pipe(isolated))

  it.effect("shutdown lets a batch dispatched from an idle engine finish", () =>
    Effect.gen(function*() {
      const { run } = recorder<number>(100)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ run, drainTimeout: "1 second" }).pipe(
        Effect.provide(policies({})),
        Scope.provide(scope)
      )
      const lone = yield* Effect.forkChild(batcher.submit(7))
      for (let i = 0; i < 20 && (yield* batcher.snapshot).busyWorkers === 0; i++) yield* Effect.yieldNow
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(closing)
      assert.strictEqual(yield* Fiber.join(lone), 14)
    }).pipe(isolated))

  it.effect("a burst of 200 with cap 32 gives batches of at most 32 and at least 7 batches", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      const batcher = yield* Batcher.make({ run }).pipe(Effect.provide(policies({ maxBatchSize: 32 })))
      const fiber = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => batcher.submit(i), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out, Array.from({ length: 200 }, (_, i) => i * 2))
      assert.isTrue(seen.every((b) => b.length <= 32))
      assert.isAtLeast(seen.length, 7)
      assert.strictEqual(seen.flat().length, 200)
    }).pipe(isolated))

  it.effect("under load, the next batch is everything queued while the worker was busy", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run }).pipe(Effect.provide(policies({ maxBatchSize: 64 })))
      const first = yield* Effect.forkChild(batcher.submit(0))
      yield* Effect.yieldNow
      // the worker is busy for 100 ms with [0]; 20 more arrive meanwhile, one at a time
      const rest = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i + 1), (i) =>
        Effect.forkChild(batcher.submit(i)).pipe(Effect.tap(() => TestClock.adjust("1 millis"))))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      for (const f of rest) {
        yield* Fiber.join(f)
      }
      // no trickle of small batches: exactly one batch of 1 then one batch of 20
      assert.deepStrictEqual(
        seen.map((b) =>
          b.length
        ),
        [1, 20]
      )
    }).pipe(isolated))

  it.effect("a fixed wait is measured from the oldest request and flushes early when full", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>()
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, wait: WaitPolicy.fixed(50) }))
      )
      const a = yield* Effect.forkChild(batcher.submit(1))
      yield* TestClock.adjust("30 millis")
      const b = yield* Effect.forkChild(batcher.submit(2))
      yield* TestClock.adjust("19 millis")
      assert.strictEqual(seen.length, 0)
      yield* TestClock.adjust("1 millis") // 50 ms after the OLDEST request
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      assert.deepStrictEqual(seen, [[1, 2]])
      // a full batch does not wait
      const full = yield* Effect.forEach([1, 2, 3, 4], (x) => batcher.submit(x), { concurrency: "unbounded" })
      assert.deepStrictEqual(full, [2, 4, 6, 8])
      assert.deepStrictEqual(seen[1], [1, 2, 3, 4])
    }).pipe(isolated))

  it.effect("cost budget: no batch exceeds it; an input costlier than the budget fails at once", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(5)
      const batcher = yield* Batcher.make({ run, cost: (x: number) => x }).pipe(
        Effect.provide(policies({ maxBatchSize: 100, maxBatchCost: 10 }))
      )
      const err = yield* Effect.flip(batcher.submit(11))
      assert.instanceOf(err, BatchError.CostExceedsBudget)
      assert.include(err.message, "exceeds the batch cost budget 10")
      const fiber = yield* Effect.forEach([3, 4, 5, 6, 2, 9, 1], (x) => batcher.submit(x), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [6, 8, 10, 12, 4, 18, 2])
      for (const b of seen) assert.isAtMost(b.reduce((a, x) => a + x, 0), 10)
    }).pipe(isolated))

  it.effect("padded cost counts longest x count", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(5)
      const batcher = yield* Batcher.make({ run, cost: (x: number) => x, batchCost: "padded" }).pipe(
        Effect.provide(policies({ maxBatchSize: 100, maxBatchCost: 12 }))
      )
      const fiber = yield* Effect.forEach([1, 1, 1, 1, 6, 1, 4, 4, 4], (x) => batcher.submit(x), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      for (const b of seen) assert.isAtMost(Math.max(...b) * b.length, 12)
    }).pipe(isolated))

  it.effect("reject: exact rejections with a retry-after hint, every request accounted for", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const run = (batch: ReadonlyArray<number>) => Effect.as(Deferred.await(gate), batch.map((x) => x))
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 32, capacity: 320, overflow: "reject" }))
      )
      // the first request occupies the worker; then 500 arrive while it is blocked
      const first = yield* Effect.forkChild(batcher.submit(-1))
      yield* Effect.yieldNow
      const results = yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => Effect.forkChild(Effect.exit(batcher.submit(i)))
      )
      yield* Effect.yieldNow
      yield* Deferred.succeed(gate, void 0)
      const exits = yield* Effect.forEach(results, Fiber.join)
      yield* Fiber.join(first)
      const ok = exits.filter(Exit.isSuccess).length
      const rejected = exits.filter((e) => Exit.isFailure(e) && Cause.squash(e.cause) instanceof BatchError.QueueFull)
      assert.strictEqual(ok, 320)
      assert.strictEqual(rejected.length, 180)
      assert.strictEqual(ok + rejected.length, 500)
      const e = Cause.squash((rejected[0] as Exit.Failure<unknown, unknown>).cause) as BatchError.QueueFull
      assert.isAbove(e.retryAfterMs, 0)
      assert.strictEqual(e.capacity, 320)
      const counted = yield* Metric.value(BatchMetrics.requestsByOutcome.rejected)
      assert.strictEqual(counted.count, 180)
    }).pipe(isolated))

  it.effect("backpressure: 500 concurrent requests, zero rejections, 500 correct outputs", () =>
    Effect.gen(function*() {
      const { run } = recorder<number>(1)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 32, capacity: 64, overflow: "backpressure" }))
      )
      const fiber = yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => i), (i) => batcher.submit(i), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      const out = yield* Fiber.join(fiber)
      assert.deepStrictEqual(out, Array.from({ length: 500 }, (_, i) => i * 2))
      assert.strictEqual((yield* Metric.value(BatchMetrics.rejections)).count, 0)
    }).pipe(isolated))

  it.effect("an expired request fails with DeadlineExceeded and is never computed", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run, requestTimeout: "1 second" }).pipe(Effect.provide(policies()))
      const busy = yield* Effect.forkChild(batcher.submit(1)) // occupies the worker for 100 ms
      yield* Effect.yieldNow
      const late = yield* Effect.forkChild(Effect.flip(batcher.submit(2, { timeout: "50 millis" })))
      const onTime = yield* Effect.forkChild(batcher.submit(3))
      yield* TestClock.adjust("1 second")
      const err = yield* Fiber.join(late)
      assert.instanceOf(err, BatchError.DeadlineExceeded)
      assert.strictEqual(yield* Fiber.join(onTime), 6)
      yield* Fiber.join(busy)
      assert.notInclude(seen.flat(), 2)
    }).pipe(isolated))

  it.effect("a hung batch function: queued requests still expire (the sweeper) instead of hanging", () =>
    Effect.gen(function*() {
      const batcher = yield* Batcher.make({
        run: (b: ReadonlyArray<number>) => Effect.as(Effect.never, b),
        drainTimeout: 0 // TestClock stands still after the test body: do not wait for the hung batch
      }).pipe(Effect.provide(policies()))
      const stuck = yield* Effect.forkChild(Effect.flip(batcher.submit(1, { timeout: "1 second" })))
      yield* Effect.yieldNow
      const queued = yield* Effect.forkChild(Effect.flip(batcher.submit(2, { timeout: "1 second" })))
      yield* TestClock.adjust("2 seconds")
      assert.instanceOf(yield* Fiber.join(stuck), BatchError.DeadlineExceeded)
      assert.instanceOf(yield* Fiber.join(queued), BatchError.DeadlineExceeded)
    }).pipe(isolated))

  it.effect("interrupting a queued submit withdraws it (never computed) and disturbs nobody", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run }).pipe(Effect.provide(policies()))
      const busy = yield* Effect.forkChild(batcher.submit(1))
      yield* Effect.yieldNow
      const a = yield* Effect.forkChild(batcher.submit(2))
      const b = yield* Effect.forkChild(batcher.submit(3))
      const c = yield* Effect.forkChild(batcher.submit(4))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(b)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(a), 4)
      assert.strictEqual(yield* Fiber.join(c), 8)
      yield* Fiber.join(busy)
      assert.deepStrictEqual(seen, [[1], [2, 4]])
      assert.strictEqual((yield* Metric.value(BatchMetrics.requestsByOutcome.cancelled)).count, 1)
    }).pipe(isolated))

  it.effect("a failing batch fails exactly its members; isolateFailures narrows it to the poisoned input", () =>
    Effect.gen(function*() {
      const run = (batch: ReadonlyArray<number>) =>
        batch.includes(13) ? Effect.fail(`poison in [${batch.join(",")}]`) : Effect.succeed(batch.map((x) => x + 1))
      for (const isolateFailures of [false, true]) {
        const scope = yield* Scope.make()
        const batcher = yield* Batcher.make({ run, isolateFailures }).pipe(
          Effect.provide(policies({ maxBatchSize: 8 })),
          Scope.provide(scope)
        )
        const exits = yield* Effect.forEach([10, 11, 12, 13, 14, 15], (x) => Effect.exit(batcher.submit(x)), {
          concurrency: "unbounded"
        })
        const failed = exits.map(Exit.isFailure)
        if (isolateFailures) {
          assert.deepStrictEqual(failed, [false, false, false, true, false, false])
          assert.deepStrictEqual(exits[0], Exit.succeed(11))
        } else {
          // every member of the poisoned batch fails with the batch's own error
          assert.isTrue(failed[3])
          for (const e of exits) if (Exit.isFailure(e)) expect(Cause.squash(e.cause)).toMatch(/^poison in/)
        }
        yield* Scope.close(scope, Exit.void)
      }
    }).pipe(isolated))

  it.effect("several workers run batches concurrently and outputs reach the right caller", () =>
    Effect.gen(function*() {
      let running = 0
      let peak = 0
      const run = (batch: ReadonlyArray<number>) =>
        Effect.gen(function*() {
          running++
          peak = Math.max(peak, running)
          yield* Effect.sleep(10)
          running--
          return batch.map((x) => x * 3)
        })
      const batcher = yield* Batcher.make({ run, workers: 4 }).pipe(Effect.provide(policies({ maxBatchSize: 5 })))
      const fiber = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => batcher.submit(i), {
        concurrency: "unbounded"
      }).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Array.from({ length: 100 }, (_, i) => i * 3))
      assert.strictEqual(peak, 4)
    }).pipe(isolated))

  it.effect("shutdown: intake stops, queued work drains, the rest fails with ShuttingDown", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const scope = yield* Scope.make()
      const batcher = yield* Batcher.make({ run, drainTimeout: "250 millis" }).pipe(
        Effect.provide(policies({ maxBatchSize: 2 })),
        Scope.provide(scope)
      )
      const fibers = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) => Effect.forkChild(Effect.exit(batcher.submit(i)))
      )
      yield* Effect.yieldNow
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow
      const late = yield* Effect.flip(batcher.submit(99))
      assert.instanceOf(late, BatchError.ShuttingDown)
      assert.strictEqual(late.reason, "intake-closed")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      const exits = yield* Effect.forEach(fibers, Fiber.join)
      const ok = exits.filter(Exit.isSuccess).length
      const down = exits.filter((e) =>
        Exit.isFailure(e) && Cause.squash(e.cause) instanceof BatchError.ShuttingDown
      ).length
      // 250 ms of drain at 100 ms per batch of 2: the first batch of 1, then two or three batches
      assert.strictEqual(ok + down, 10)
      assert.isAbove(ok, 0)
      assert.isAbove(down, 0)
      // everything that succeeded was computed; a batch cut off by the drain timeout failed instead
      assert.isAtLeast(seen.flat().length, ok)
      exits.forEach((e, i) => {
        if (Exit.isSuccess(e)) assert.include(seen.flat(), i)
      })
    }).pipe(isolated))

  it.effect("submitAll answers once all items are done, in order, sharing batches with others", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(10)
      // a window of 8: the 6 inputs enter at once (larger requests: largeRequests.test.ts)
      const batcher = yield* Batcher.make({ run, feedWindow: 8 }).pipe(Effect.provide(policies({ maxBatchSize: 4 })))
      const busy = yield* Effect.forkChild(batcher.submit(0))
      yield* Effect.yieldNow
      const all = yield* Effect.forkChild(batcher.submitAll([1, 2, 3, 4, 5, 6]))
      const other = yield* Effect.forkChild(batcher.submit(7))
      yield* TestClock.adjust("1 second")
      const timed = yield* Fiber.join(all)
      assert.deepStrictEqual(timed.map((t) => t.value), [2, 4, 6, 8, 10, 12])
      assert.strictEqual(yield* Fiber.join(other), 14)
      yield* Fiber.join(busy)
      assert.deepStrictEqual(seen, [[0], [1, 2, 3, 4], [5, 6, 7]])
    }).pipe(isolated))
  it.effect("precheck refuses a request the queue cannot hold, before any work is done for it", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const run = (batch: ReadonlyArray<number>) => Effect.as(Deferred.await(gate), batch)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(
        Effect.provide(policies({ capacity: 4, overflow: "reject" }))
      )
      const busy = yield* Effect.forkChild(batcher.submit(0))
      yield* TestClock.adjust("1 millis") // the worker takes [0] and blocks on the gate
      assert.isUndefined(batcher.precheck(4))
      const queued = yield* Effect.forkChild(batcher.submitAll([1, 2, 3]))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* batcher.snapshot).queued, 3)
      assert.isUndefined(batcher.precheck(1))
      const refused = batcher.precheck(2)
      assert.instanceOf(refused, BatchError.QueueFull)
      assert.strictEqual((yield* Metric.value(BatchMetrics.rejections)).count, 2)
      yield* Deferred.succeed(gate, void 0)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(busy)
      yield* Fiber.join(queued)
    }).pipe(isolated))

  it.effect("admit asks once: a permit holds its room for everyone else until its submitAll uses it or it is released", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const run = (batch: ReadonlyArray<number>) => Effect.as(Deferred.await(gate), batch)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(
        Effect.provide(policies({ capacity: 4, overflow: "reject" }))
      )
      const busy = yield* Effect.forkChild(batcher.submit(0))
      yield* TestClock.adjust("1 millis") // the worker takes [0] and blocks on the gate
      const permit = batcher.admit(3)
      assert.instanceOf(permit, Batcher.Permit)
      // the permit's 3 inputs count as queued: one more fits, two do not
      assert.isUndefined(batcher.precheck(1))
      assert.instanceOf(batcher.admit(2), BatchError.QueueFull)
      const refused = yield* Effect.flip(batcher.submitAll([7, 8]))
      assert.instanceOf(refused, BatchError.QueueFull)
      // the permit's own request is not asked again, and gives its room to its inputs
      const queued = yield* Effect.forkChild(batcher.submitAll([1, 2, 3], { permit: permit as Batcher.Permit }))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* batcher.snapshot).queued, 3)
      assert.isUndefined(batcher.precheck(1))
      // a released permit gives its room back
      const spare = batcher.admit(1) as Batcher.Permit
      assert.instanceOf(batcher.admit(1), BatchError.QueueFull)
      spare.release()
      assert.isUndefined(batcher.precheck(1))
      yield* Deferred.succeed(gate, void 0)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(busy)
      assert.deepStrictEqual((yield* Fiber.join(queued)).map((t) => t.value), [1, 2, 3])
    }).pipe(isolated))

  it.effect("back-pressure: a request whose deadline passes while it waits for room gets DeadlineExceeded then", () =>
    Effect.gen(function*() {
      const run = (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("10 seconds"), batch)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(
        Effect.provide(policies({ capacity: 1, overflow: "backpressure" }))
      )
      yield* Effect.forkChild(batcher.submit(0)) // running
      yield* Effect.yieldNow
      yield* Effect.forkChild(batcher.submit(1)) // queued: the queue is full
      yield* Effect.yieldNow
      const waiting = yield* Effect.forkChild(Effect.flip(batcher.submit(2, { timeout: "100 millis" })))
      yield* TestClock.adjust("150 millis")
      const err = yield* Fiber.join(waiting)
      assert.instanceOf(err, BatchError.DeadlineExceeded)
    }).pipe(isolated))

  it.effect("a result that arrives after the request's deadline is a DeadlineExceeded, not a late answer", () =>
    Effect.gen(function*() {
      const run = (batch: ReadonlyArray<number>) => Effect.as(Effect.sleep("200 millis"), batch)
      const batcher = yield* Batcher.make({ run, drainTimeout: 0 }).pipe(Effect.provide(policies()))
      const late = yield* Effect.forkChild(Effect.flip(batcher.submit(1, { timeout: "100 millis" })))
      const onTime = yield* Effect.forkChild(batcher.submit(2, { timeout: "1 second" }))
      yield* TestClock.adjust("1 second")
      assert.instanceOf(yield* Fiber.join(late), BatchError.DeadlineExceeded)
      assert.strictEqual(yield* Fiber.join(onTime), 2)
    }).pipe(isolated))

  it.effect("back-pressure: a request's inputs enter the queue together, in arrival order with other waiters", () =>
    Effect.gen(function*() {
      const { run, seen } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 2, overflow: "backpressure" }))
      )
      // 0 runs, 1 and 2 fill the queue; then two requests of four inputs wait for room
      const first = yield* Effect.forkChild(batcher.submitAll([0]))
      yield* Effect.yieldNow
      const fill = yield* Effect.forkChild(batcher.submitAll([1, 2]))
      yield* Effect.yieldNow
      const a = yield* Effect.forkChild(batcher.submitAll([10, 11, 12, 13]))
      yield* Effect.yieldNow
      const b = yield* Effect.forkChild(batcher.submitAll([20, 21, 22, 23]))
      yield* TestClock.adjust("10 seconds")
      for (const f of [first, fill, a, b]) yield* Fiber.join(f)
      // A's inputs are all dispatched before any of B's: no interleaving of waiting requests
      const order = seen.flat().filter((x) => x >= 10)
      assert.deepStrictEqual(order, [10, 11, 12, 13, 20, 21, 22, 23])
    }).pipe(isolated))

  it.effect("back-pressure refuses at once (Overloaded) what the queued work would keep past its deadline", () =>
    Effect.gen(function*() {
      // 4 inputs per 100 ms batch, one worker: 0.04 inputs per ms once saturated
      const { run } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run, requestTimeout: "2 seconds" }).pipe(
        Effect.provide(policies({ maxBatchSize: 4, capacity: 1000, overflow: "backpressure" }))
      )
      const backlog = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) => batcher.submit(i), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("250 millis") // two capped batches measured; 16 inputs still queued
      // 16 queued + 1 at 0.04/ms is ~425 ms, + one batch: within half of a 2 s timeout, not of 300 ms
      const refused = yield* Effect.flip(batcher.submit(100, { timeout: "300 millis" }))
      assert.instanceOf(refused, BatchError.Overloaded)
      assert.isAbove(refused.expectedMs, refused.timeoutMs)
      assert.isAbove(refused.retryAfterMs, 0)
      const refusedAll = yield* Effect.flip(batcher.submitAll([101, 102], { timeout: "300 millis" }))
      assert.instanceOf(refusedAll, BatchError.Overloaded)
      assert.instanceOf(batcher.precheck(2, 300), BatchError.Overloaded)
      assert.isUndefined(batcher.precheck(2))
      const admitted = yield* Effect.forkChild(batcher.submit(200))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(admitted), 400)
      assert.strictEqual((yield* Fiber.join(backlog)).length, 24)
      // counted as rejections: 1 + 2 refused submits, 2 by the precheck
      assert.strictEqual((yield* Metric.value(BatchMetrics.requestsByOutcome.rejected)).count, 5)
    }).pipe(isolated))

  it.effect("back-pressure without shedLate keeps every request waiting, however late", () =>
    Effect.gen(function*() {
      const { run } = recorder<number>(100)
      const batcher = yield* Batcher.make({ run, requestTimeout: "1 second" }).pipe(
        Effect.provide(Layer.mergeAll(
          BatchSizePolicy.fixed({ maxBatchSize: 4 }),
          WaitPolicy.none,
          QueuePolicy.layer({ capacity: 1000, overflow: "backpressure", shedLate: false })
        ))
      )
      yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) => batcher.submit(i), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("250 millis")
      assert.isUndefined(batcher.precheck(1, 300))
      const late = yield* Effect.forkChild(Effect.flip(batcher.submit(100, { timeout: "300 millis" })))
      yield* TestClock.adjust("2 seconds")
      assert.instanceOf(yield* Fiber.join(late), BatchError.DeadlineExceeded)
    }).pipe(isolated))
})
