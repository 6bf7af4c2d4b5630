/**
 * The adaptive batch-size policy against fixed caps on the policy simulator, on the TestClock
 * (deterministic, seconds of real time for minutes of simulated time): on every cost curve (the
 * measured ones of issue #13 and the synthetic shapes), with 1 and 4 workers, at saturation
 * (256 closed-loop callers) the adaptive policy reaches at least 0.97 of the best fixed cap, and
 * at 50 % of that cap's throughput its median latency is at most 1.2 times the cap's.
 *
 * The fixed caps compared are the one the curve predicts to be best and its neighbours (the
 * benchmark's `policy` scenario runs all of 4..128 in real time). fast-check draws the curve,
 * the worker count, the noise (10-20 %) and the seed; each run is one whole experiment, so the
 * number of runs is small.
 */
import { CostCurves, PolicyComparison, Simulator } from "@adabatch/core/testing"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"

const around = (cap: number): Array<number> =>
  PolicyComparison.defaultCaps.filter((c) => c === cap || c === cap / 2 || c === cap * 2)

const experiment = fc.record({
  curve: fc.constantFrom(...CostCurves.curves),
  workers: fc.constantFrom(1, 4),
  noise: fc.double({ min: 0.1, max: 0.2, noNaN: true }),
  seed: fc.integer({ min: 1, max: 1_000_000 })
})

describe("adaptive batch size on the policy simulator", () => {
  it("matches the best fixed cap at saturation and its median latency at half load", async () => {
    await fc.assert(
      fc.asyncProperty(experiment, async ({ curve, noise, seed, workers }) => {
        const caps = around(PolicyComparison.predictedBestCap(curve, workers, 256))
        const r = await Effect.runPromise(
          Simulator.onTestClock(PolicyComparison.compare({ curve, workers, caps, noise, seed }), 1000)
        )
        const where = `${curve.name}, ${workers} worker(s): ${JSON.stringify(r)}`
        expect(r.ratio, where).toBeGreaterThanOrEqual(0.97)
        expect(r.half.p50Ratio, where).toBeLessThanOrEqual(1.2)
      }),
      { numRuns: 3, seed: 13 }
    )
  }, 300_000)
})
