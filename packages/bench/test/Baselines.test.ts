import { BatchError } from "@adabatch/core"
import { assert, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as DataLoaderSystem from "../src/baselines/DataLoaderSystem.js"
import * as Original from "../src/baselines/Original.js"
import { Overloaded } from "../src/baselines/Overloaded.js"
import * as TeiStyle from "../src/baselines/TeiStyle.js"
import * as Unbatched from "../src/baselines/Unbatched.js"
import * as Systems from "../src/Systems.js"

/** A batch function that records batch sizes and can be held closed. */
const recorder = () => {
  const batches: Array<ReadonlyArray<number>> = []
  let gate: Deferred.Deferred<void> | undefined
  return {
    batches,
    hold: () => {
      gate = Deferred.makeUnsafe<void>()
    },
    open: () => {
      if (gate !== undefined) Deferred.doneUnsafe(gate, Exit.void)
      gate = undefined
    },
    run: (xs: ReadonlyArray<number>) =>
      Effect.suspend(() => {
        batches.push([...xs])
        return (gate === undefined ? Effect.void : Deferred.await(gate)).pipe(Effect.as(xs.map((x) => x * 10)))
      })
  }
}

describe("Original (baseline)", () => {
  it.effect("a lone request waits for the 500 ms hard timeout", () =>
    Effect.gen(function*() {
      const r = recorder()
      const { submit } = yield* Original.make(r.run)
      const f = yield* Effect.forkChild(submit(1))
      yield* TestClock.adjust("499 millis")
      assert.strictEqual(f.pollUnsafe(), undefined)
      assert.strictEqual(r.batches.length, 0)
      yield* TestClock.adjust("2 millis")
      assert.strictEqual(yield* Fiber.join(f), 10)
      assert.deepStrictEqual(r.batches, [[1]])
    }))

  it.effect("four requests leave at once; the cap of 32 is enforced", () =>
    Effect.gen(function*() {
      const r = recorder()
      const { submit } = yield* Original.make(r.run)
      const four = yield* Effect.forkChild(Effect.forEach([1, 2, 3, 4], submit, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Fiber.join(four), [10, 20, 30, 40])
      r.batches.length = 0
      const xs = Array.from({ length: 70 }, (_, i) => i)
      const out = yield* Effect.forEach(xs, submit, { concurrency: "unbounded" })
      assert.deepStrictEqual(out, xs.map((x) => x * 10))
      expect(r.batches.map((b) => b.length)).toEqual([32, 32, 6])
    }))

  it.effect("refuses requests beyond its queue of 320 while a batch runs", () =>
    Effect.gen(function*() {
      const r = recorder()
      r.hold()
      const { submit } = yield* Original.make(r.run)
      const first = yield* Effect.forkChild(Effect.forEach([0, 1, 2, 3], submit, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(r.batches.length, 1)
      const rest = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 330 }, (_, i) => i), (x) => Effect.result(submit(x)), {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("1 millis")
      r.open()
      const results = yield* Fiber.join(rest)
      yield* Fiber.join(first)
      const refused = results.filter((x) => x._tag === "Failure")
      assert.strictEqual(refused.length, 10)
      assert.strictEqual(refused[0]!._tag === "Failure" && refused[0]!.failure._tag, "Overloaded")
    }))
})

describe("TEI-style (baseline)", () => {
  it.effect("an idle system sends a lone request at once", () =>
    Effect.gen(function*() {
      const r = recorder()
      const { submit } = yield* TeiStyle.make(r.run, { tokens: () => 16 })
      assert.strictEqual(yield* submit(3), 30)
      assert.deepStrictEqual(r.batches, [[3]])
    }))

  it.effect("batches hold at most 8 requests and respect the padded token budget", () =>
    Effect.gen(function*() {
      const r = recorder()
      r.hold()
      // input x has x tokens
      const { submit } = yield* TeiStyle.make(r.run, { tokens: (x: number) => x, maxBatchTokens: 1000 })
      const first = yield* Effect.forkChild(submit(1))
      yield* Effect.yieldNow
      // the first batch runs (held); 20 more arrive: the next batch is pre-built from them
      const small = Array.from({ length: 12 }, () => 10)
      const big = [300, 300, 300, 300]
      const rest = yield* Effect.forkChild(
        Effect.forEach([...small, ...big], submit, { concurrency: "unbounded" })
      )
      yield* Effect.yieldNow
      r.open()
      yield* Fiber.join(first)
      yield* Fiber.join(rest)
      const sizes = r.batches.map((b) => b.length)
      expect(sizes.every((n) => n <= 8)).toBe(true)
      for (const b of r.batches) expect(Math.max(...b) * b.length).toBeLessThanOrEqual(1000)
      expect(r.batches.flat().sort((a, b) => a - b)).toEqual([1, ...small, ...big].sort((a, b) => a - b))
      // 300 x 4 = 1200 > 1000: the 300s are split
      expect(r.batches.some((b) => b.filter((x) => x === 300).length === 4)).toBe(false)
    }))

  it.effect("refuses requests once all permits are taken", () =>
    Effect.gen(function*() {
      const r = recorder()
      r.hold()
      const { submit } = yield* TeiStyle.make(r.run, { tokens: () => 1, maxConcurrentRequests: 5 })
      const fibers = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 7 }, (_, i) => i), (x) => Effect.result(submit(x)), {
          concurrency: "unbounded"
        })
      )
      yield* Effect.yieldNow
      r.open()
      const results = yield* Fiber.join(fibers)
      assert.strictEqual(results.filter((x) => x._tag === "Failure").length, 2)
    }))
})

describe("dataloader and no batching (baselines)", () => {
  it.effect("dataloader coalesces loads of one tick, capped at maxBatchSize", () =>
    Effect.gen(function*() {
      const r = recorder()
      const { submit } = DataLoaderSystem.make(r.run, { maxBatchSize: 4 })
      const out = yield* Effect.forEach([1, 2, 3, 4, 5, 6], submit, { concurrency: "unbounded" })
      assert.deepStrictEqual(out, [10, 20, 30, 40, 50, 60])
      expect(r.batches.map((b) => b.length)).toEqual([4, 2])
    }))

  it.effect("dataloader passes the batch function's typed failure through", () =>
    Effect.gen(function*() {
      const { submit } = DataLoaderSystem.make((_: ReadonlyArray<number>) => Effect.fail("boom" as const))
      assert.strictEqual(yield* Effect.flip(submit(1)), "boom")
    }))

  it.effect("no batching sends every request alone", () =>
    Effect.gen(function*() {
      const r = recorder()
      const { submit } = Unbatched.make(r.run)
      yield* Effect.forEach([1, 2, 3], submit, { concurrency: "unbounded" })
      expect(r.batches).toEqual([[1], [2], [3]])
    }))
})

describe("Systems.outcomeOf", () => {
  it("maps refusals to rejected and anything else to error", () => {
    const queueFull = new BatchError.QueueFull({ queued: 1, capacity: 1, retryAfterMs: 1 })
    expect(Systems.outcomeOf(Exit.succeed(1))).toBe("ok")
    expect(Systems.outcomeOf(Exit.fail(queueFull))).toBe("rejected")
    expect(Systems.outcomeOf(Exit.fail(new Overloaded({ system: "tei-style", capacity: 512 })))).toBe("rejected")
    expect(Systems.outcomeOf(Exit.fail(new BatchError.DeadlineExceeded({ waitedMs: 1, timeoutMs: 1 })))).toBe("error")
    expect(Systems.outcomeOf(Exit.die(new Error("boom")))).toBe("error")
  })
})
