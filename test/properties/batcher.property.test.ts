/**
 * Property tests of the batching engine over random arrival schedules, sizes, costs, capacities,
 * deadlines, cancellations, failures, worker counts and shutdown points, on the TestClock.
 */
import { Batcher, BatchError, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
import { describe, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, Fiber, Layer, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"

const scenario = fc.record({
  requests: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 200 }),
      cost: fc.integer({ min: 1, max: 12 }),
      timeoutMs: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
      cancelAfterMs: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      poison: fc.integer({ min: 0, max: 9 }).map((x) => x === 0)
    }),
    { minLength: 1, maxLength: 120 }
  ),
  maxBatchSize: fc.integer({ min: 1, max: 16 }),
  maxBatchCost: fc.option(fc.integer({ min: 12, max: 60 }), { nil: undefined }),
  padded: fc.boolean(),
  capacity: fc.integer({ min: 1, max: 64 }),
  overflow: fc.constantFrom("reject" as const, "backpressure" as const),
  wait: fc.constantFrom("none", "fixed", "adaptive"),
  workers: fc.integer({ min: 1, max: 4 }),
  batchMs: fc.integer({ min: 0, max: 30 }),
  isolate: fc.boolean(),
  bucketing: fc.boolean(),
  shutdownAt: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  drainMs: fc.integer({ min: 0, max: 200 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

const runScenario = (s: Scenario) =>
  Effect.gen(function*() {
    const ran: Array<ReadonlyArray<number>> = []
    const firstRunAt = new Map<number, number>()
    const submittedAt = new Map<number, number>()
    const cancelledAt = new Map<number, number>()
    const costs = s.requests.map((r) => r.cost)
    const run = (batch: ReadonlyArray<number>) =>
      Effect.gen(function*() {
        ran.push(batch.slice())
        const t = yield* Clock.currentTimeMillis
        for (const i of batch) if (!firstRunAt.has(i)) firstRunAt.set(i, t)
        if (s.batchMs > 0) yield* Effect.sleep(s.batchMs)
        if (batch.some((i) => s.requests[i]!.poison)) return yield* Effect.fail(`poison in batch`)
        return batch.map((i) => i * 10)
      })
    const policies = Layer.mergeAll(
      BatchSizePolicy.fixed({ maxBatchSize: s.maxBatchSize, maxBatchCost: s.maxBatchCost }),
      s.wait === "none" ? WaitPolicy.none : s.wait === "fixed" ? WaitPolicy.fixed(7) : WaitPolicy.adaptive({
        maxWaitMs: 7
      }),
      QueuePolicy.layer({ capacity: s.capacity, overflow: s.overflow })
    )
    const scope = yield* Scope.make()
    const batcher = yield* Batcher.make({
      run,
      workers: s.workers,
      cost: (i: number) => costs[i]!,
      batchCost: s.padded ? "padded" : "sum",
      requestTimeout: "1 second",
      drainTimeout: Math.max(1, s.drainMs),
      isolateFailures: s.isolate,
      bucketing: s.bucketing ? { lookahead: 3, maxOvertakeMs: 10 } : undefined
    }).pipe(Effect.provide(policies), Scope.provide(scope))

    const fibers: Array<Fiber.Fiber<Exit.Exit<number, unknown>> | undefined> = new Array(s.requests.length)
    const cancelled = new Set<number>()
    const order = s.requests.map((r, i) => ({ ...r, i })).sort((a, b) => a.at - b.at || a.i - b.i)
    let now = 0
    let closing: Fiber.Fiber<void> | undefined
    const events: Array<{ t: number; f: () => Effect.Effect<void> }> = []
    for (const r of order) {
      events.push({
        t: r.at,
        f: () =>
          Effect.gen(function*() {
            const opts = r.timeoutMs === undefined ? undefined : { timeout: r.timeoutMs }
            submittedAt.set(r.i, yield* Clock.currentTimeMillis)
            fibers[r.i] = yield* Effect.forkChild(Effect.exit(batcher.submit(r.i, opts)))
          })
      })
      if (r.cancelAfterMs !== undefined) {
        events.push({
          t: r.at + r.cancelAfterMs,
          f: () =>
            Effect.gen(function*() {
              const f = fibers[r.i]
              if (f && f.pollUnsafe() === undefined) {
                cancelled.add(r.i)
                cancelledAt.set(r.i, yield* Clock.currentTimeMillis)
                yield* Fiber.interrupt(f)
              }
            })
        })
      }
    }
    if (s.shutdownAt !== undefined) {
      events.push({
        t: s.shutdownAt,
        f: () => Effect.map(Effect.forkChild(Scope.close(scope, Exit.void)), (f) => void (closing = f))
      })
    }
    events.sort((a, b) => a.t - b.t)
    for (const e of events) {
      if (e.t > now) {
        yield* TestClock.adjust(e.t - now)
        now = e.t
      }
      yield* e.f()
    }
    yield* TestClock.adjust("10 seconds")
    if (closing === undefined) closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
    yield* TestClock.adjust("10 seconds")
    yield* Fiber.join(closing)

    // ---- properties ----
    const exits = yield* Effect.forEach(fibers, (f) => f === undefined ? Effect.die("never submitted") : Fiber.await(f))
    const computed = new Set(ran.flat())
    exits.forEach((exit, i) => {
      // 1. every request completes exactly once (the fiber is done) with its own output or a typed error
      if (exit._tag === "Success") {
        const inner = exit.value
        if (Exit.isSuccess(inner)) {
          if (inner.value !== i * 10) throw new Error(`request ${i} got ${inner.value}`)
          if (!computed.has(i)) throw new Error(`request ${i} succeeded without being computed`)
        } else {
          const e = Cause.squash(inner.cause)
          const typed = e instanceof BatchError.QueueFull || e instanceof BatchError.Overloaded ||
            e instanceof BatchError.DeadlineExceeded ||
            e instanceof BatchError.ShuttingDown || e === "poison in batch"
          if (!typed && !Cause.hasInterruptsOnly(inner.cause)) throw new Error(`request ${i}: untyped error ${e}`)
          if (e === "poison in batch" && s.isolate && !s.requests[i]!.poison) {
            throw new Error(`request ${i} failed with poison although isolated and not poisoned`)
          }
          // 3. rejections happen only when the queue is full
          if (e instanceof BatchError.QueueFull && e.queued < e.capacity) {
            throw new Error(`request ${i} rejected with ${e.queued} of ${e.capacity} queued`)
          }
          // 3b. back-pressure refuses only what the queued work would keep past half its timeout
          if (
            e instanceof BatchError.Overloaded && (s.overflow !== "backpressure" || e.expectedMs <= e.timeoutMs / 2)
          ) {
            throw new Error(`request ${i} refused as overloaded (${e.message}) under ${s.overflow}`)
          }
          // 4. a request whose deadline passed before dispatch is never passed to the batch function
          const timeout = s.requests[i]!.timeoutMs ?? 1000
          const ranAt = firstRunAt.get(i)
          if (ranAt !== undefined && ranAt >= submittedAt.get(i)! + timeout) {
            throw new Error(`request ${i} was computed at ${ranAt}, after its deadline`)
          }
        }
      } else if (!cancelled.has(i)) {
        throw new Error(`request ${i} fiber ended abnormally`)
      }
      // 5. a request cancelled while queued is never computed later
      const c = cancelledAt.get(i)
      const ranAt = firstRunAt.get(i)
      if (c !== undefined && ranAt !== undefined && ranAt > c) {
        throw new Error(`request ${i} was cancelled at ${c} but computed at ${ranAt}`)
      }
    })
    // 2. no batch exceeds its caps
    for (const b of ran) {
      if (b.length > s.maxBatchSize) throw new Error(`batch of ${b.length} > ${s.maxBatchSize}`)
      if (s.maxBatchCost !== undefined && b.length > 1) {
        const c = s.padded ? Math.max(...b.map((i) => costs[i]!)) * b.length : b.reduce((a, i) => a + costs[i]!, 0)
        if (c > s.maxBatchCost) throw new Error(`batch cost ${c} > ${s.maxBatchCost}`)
      }
      // each request is computed at most once (isolation re-runs are halves of a failed batch)
    }
    // 6. shutdown left no fiber waiting: every submit fiber is done
    for (const f of fibers) {
      if (f !== undefined && f.pollUnsafe() === undefined) throw new Error("a fiber is still waiting")
    }
    return true
  }).pipe(
    Effect.provide(TestClock.layer()),
    Effect.provideService(Metric.MetricRegistry, new Map()),
    Effect.scoped
  )

describe("Batcher properties", () => {
  it("every request completes exactly once, caps hold, nothing accepted is lost", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => Effect.runPromise(runScenario(s))),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 100) }
    )
  })
})
