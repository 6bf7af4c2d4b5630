/**
 * The layout rule on figures: the candidates for a core count, the 16-core server's measured
 * figures (`scale-16core.md`), the memory cap, and properties of the rule on any figures.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as LayoutChoice from "../../src/model/onnx/layout/LayoutChoice.js"

const labels = (layouts: ReadonlyArray<LayoutChoice.Layout>) => layouts.map(LayoutChoice.label)
const MiB = 1024 * 1024

describe("candidates", () => {
  it("every divisor of the cores, each layout using all of them", () => {
    assert.deepStrictEqual(labels(LayoutChoice.candidates(2)), ["1 x 2", "2 x 1"])
    assert.deepStrictEqual(labels(LayoutChoice.candidates(1)), ["1 x 1"])
    assert.deepStrictEqual(labels(LayoutChoice.candidates(12)), [
      "1 x 12",
      "2 x 6",
      "3 x 4",
      "4 x 3",
      "6 x 2",
      "12 x 1"
    ])
    assert.deepStrictEqual(labels(LayoutChoice.candidates(7)), ["1 x 7", "7 x 1"])
  })

  it("at most MAX_CANDIDATES, always 1 x n and n x 1", () => {
    const c = LayoutChoice.candidates(48)
    assert.isAtMost(c.length, LayoutChoice.MAX_CANDIDATES)
    assert.deepStrictEqual(c[0], { workers: 1, threads: 48 })
    assert.deepStrictEqual(c[c.length - 1], { workers: 48, threads: 1 })
    for (const l of c) assert.strictEqual(l.workers * l.threads, 48)
  })

  it("a worker cap keeps the layouts that fit, and adds the most workers that fit", () => {
    assert.deepStrictEqual(labels(LayoutChoice.candidates(12, 5)), ["1 x 12", "2 x 6", "3 x 4", "4 x 3", "5 x 2"])
    assert.deepStrictEqual(labels(LayoutChoice.candidates(16, 1)), ["1 x 16"])
  })
})

/**
 * The 16-core server (12 cores for the server): raw items/s of N sessions side by side (batch 64 x
 * seq 16, batch 8 x seq 128) and the server's idle p50 per layout.
 */
const server16: ReadonlyArray<LayoutChoice.Figures> = [
  [1, 12, 1611, 218, 2.53],
  [2, 6, 2023, 310, 2.59],
  [4, 3, 2391, 305, 3.06],
  [6, 2, 2247, 306, 3.2],
  [12, 1, 3075, 336, 6.26]
].map(([workers, threads, short, long, idle]) => ({
  workers: workers!,
  threads: threads!,
  shortItemsPerSecond: short!,
  longItemsPerSecond: long!,
  idleMs: idle!,
  rssGrowthBytes: 200 * MiB * workers!
}))

describe("choose", () => {
  it("16 cores: scores rank 12 x 1 > 4 x 3 >> 1 x 12; 12 x 1's idle latency rules it out, 4 x 3 wins", () => {
    const choice = LayoutChoice.choose(server16, { memoryBudgetBytes: undefined, memoryPerWorkerBytes: 200 * MiB })
    const score = (w: number) => choice.candidates.find((c) => c.workers === w)!.score
    assert.strictEqual(score(12), 1)
    assert.isAbove(score(12), score(4))
    assert.isAbove(score(4), score(6))
    assert.isAbove(score(4), 1.3 * score(1))
    assert.match(choice.candidates.find((c) => c.workers === 12)!.excluded ?? "", /idle latency 6\.26 ms, 2\.47x/)
    assert.deepStrictEqual({ workers: choice.workers, threads: choice.threads }, { workers: 4, threads: 3 })
    assert.match(choice.reason, /^4 x 3: highest throughput/)
    assert.match(choice.reason, /fastest \(1 x 12, 2\.53 ms\)/)
    assert.match(choice.reason, /ruled out: 12 x 1/)
  })

  it("a looser latency tolerance lets the fastest layout win", () => {
    const choice = LayoutChoice.choose(server16, {
      memoryBudgetBytes: undefined,
      memoryPerWorkerBytes: undefined,
      latencyTolerance: 3
    })
    assert.strictEqual(choice.workers, 12)
  })

  it("the memory cap rules out layouts with more workers than fit", () => {
    const choice = LayoutChoice.choose(server16, { memoryBudgetBytes: 1000 * MiB, memoryPerWorkerBytes: 200 * MiB })
    const excluded = choice.candidates.filter((c) => c.excluded?.startsWith("memory")).map((c) => c.workers)
    assert.deepStrictEqual(excluded, [6, 12])
    assert.strictEqual(choice.workers, 4)
    const tight = LayoutChoice.choose(server16, { memoryBudgetBytes: 100 * MiB, memoryPerWorkerBytes: 200 * MiB })
    assert.strictEqual(tight.workers, 1, "with no room even for two workers, the single-worker layout stays")
  })

  it("2 cores: 1 x 2 against 2 x 1", () => {
    const two = (short2x1: number, idle2x1: number): ReadonlyArray<LayoutChoice.Figures> => [
      { workers: 1, threads: 2, shortItemsPerSecond: 550, longItemsPerSecond: 66, idleMs: 2.7, rssGrowthBytes: 0 },
      {
        workers: 2,
        threads: 1,
        shortItemsPerSecond: short2x1,
        longItemsPerSecond: 70,
        idleMs: idle2x1,
        rssGrowthBytes: 0
      }
    ]
    const opts = { memoryBudgetBytes: undefined, memoryPerWorkerBytes: undefined }
    assert.strictEqual(LayoutChoice.choose(two(600, 3.9), opts).workers, 2)
    assert.strictEqual(LayoutChoice.choose(two(600, 4.2), opts).workers, 1, "idle 4.2 ms > 1.5 x 2.7 ms")
    assert.strictEqual(LayoutChoice.choose(two(400, 3), opts).workers, 1, "score sqrt(400/550 x 1) < 1")
  })

  const figures = fc.uniqueArray(
    fc.record({
      workers: fc.integer({ min: 1, max: 64 }),
      shortItemsPerSecond: fc.double({ min: 1, max: 1e5, noNaN: true }),
      longItemsPerSecond: fc.double({ min: 1, max: 1e4, noNaN: true }),
      idleMs: fc.double({ min: 0.1, max: 100, noNaN: true }),
      rssGrowthBytes: fc.nat()
    }).map((f) => ({ ...f, threads: 1 })),
    { minLength: 1, maxLength: 8, selector: (f) => f.workers }
  )

  it("property: the winner competes, is within the latency tolerance, and no competitor scores higher", () => {
    fc.assert(
      fc.property(figures, fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }), (fs, maxWorkers) => {
        const choice = LayoutChoice.choose(fs, {
          memoryBudgetBytes: maxWorkers === undefined ? undefined : maxWorkers * MiB,
          memoryPerWorkerBytes: MiB
        })
        const winner = choice.candidates.find((c) => c.workers === choice.workers)!
        assert.strictEqual(winner.excluded, undefined)
        const fewest = Math.min(...fs.map((f) => f.workers))
        const fitting = choice.candidates.filter((c) =>
          maxWorkers === undefined || c.workers <= maxWorkers || c.workers === fewest
        )
        const fastest = Math.min(...fitting.map((c) => c.idleMs))
        assert.isAtMost(winner.idleMs, 1.5 * fastest + 1e-9)
        if (maxWorkers !== undefined && winner.workers !== fewest) assert.isAtMost(winner.workers, maxWorkers)
        for (const c of choice.candidates) {
          if (c.excluded === undefined) assert.isAtMost(c.score, winner.score)
        }
        assert.strictEqual(choice.candidates.length, fs.length)
      }),
      { numRuns: 300 }
    )
  })
})
