import { describe, expect, it } from "@effect/vitest"
import * as Arrivals from "../src/Arrivals.js"
import * as Load from "../src/Load.js"
import * as Random from "../src/Random.js"
import * as Stats from "../src/Stats.js"

describe("Stats", () => {
  it("percentiles interpolate linearly between closest ranks", () => {
    const xs = [15, 20, 35, 40, 50]
    expect(Stats.percentile(xs, 0)).toBe(15)
    expect(Stats.percentile(xs, 100)).toBe(50)
    expect(Stats.percentile(xs, 50)).toBe(35)
    // rank (5 - 1) * 0.4 = 1.6 -> 20 + 0.6 * (35 - 20)
    expect(Stats.percentile(xs, 40)).toBeCloseTo(29, 10)
    // order of the input does not matter, and the input is not mutated
    const shuffled = [50, 15, 40, 35, 20]
    expect(Stats.percentile(shuffled, 40)).toBeCloseTo(29, 10)
    expect(shuffled).toEqual([50, 15, 40, 35, 20])
  })

  it("matches numpy's default on 1..100", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(Stats.percentile(xs, 99)).toBeCloseTo(99.01, 10)
    expect(Stats.percentile(xs, 95)).toBeCloseTo(95.05, 10)
    expect(Stats.median(xs)).toBe(50.5)
  })

  it("handles empty and single-sample inputs", () => {
    expect(Stats.percentile([], 50)).toBeNaN()
    expect(Stats.percentile([7], 99)).toBe(7)
    expect(Stats.stdDev([7])).toBe(0)
    expect(Stats.mean([])).toBeNaN()
    expect(() => Stats.percentile([1], 101)).toThrow(RangeError)
  })

  it("sample standard deviation uses n - 1", () => {
    expect(Stats.mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5)
    expect(Stats.stdDev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12)
  })

  it("distribution summarises every field", () => {
    const d = Stats.distribution([3, 1, 2])
    expect(d).toMatchObject({ count: 3, mean: 2, min: 1, p50: 2, max: 3, stdDev: 1 })
    expect(d.p99).toBeCloseTo(2.98, 10)
  })

  it("ratio spreads take the ratio inside each repeat, then min / median / max", () => {
    const s = Stats.ratioSpread([10, 20, 30, 40], [10, 10, 10, 0])
    // the last pair has a zero denominator and is skipped
    expect(s.values).toEqual([1, 2, 3])
    expect(s).toMatchObject({ min: 1, median: 2, max: 3 })
    // a pairwise ratio differs from the ratio of medians when the machine slows down in one repeat
    const fast = [100, 50, 100]
    const slow = [50, 25, 50]
    expect(Stats.ratioSpread(fast, slow)).toMatchObject({ min: 2, median: 2, max: 2 })
  })

  it("difference spreads and histograms", () => {
    expect(Stats.differenceSpread([5, 6, 9], [4, 4, 4])).toMatchObject({ min: 1, median: 2, max: 5 })
    expect(Stats.histogram([4, 1, 4, 8, 1, 4])).toEqual([
      { value: 1, count: 2 },
      { value: 4, count: 3 },
      { value: 8, count: 1 }
    ])
  })
})

describe("Random", () => {
  it("is reproducible from its seed and uniform in [0, 1)", () => {
    const a = Random.make(42)
    const b = Random.make(42)
    const xs = Array.from({ length: 10_000 }, () => a.next())
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()))
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(Stats.mean(xs)).toBeGreaterThan(0.48)
    expect(Stats.mean(xs)).toBeLessThan(0.52)
    expect(Random.make(43).next()).not.toBe(Random.make(42).next())
  })
})

describe("Arrivals", () => {
  it("a Poisson schedule has the planned rate and exponential gaps", () => {
    const s = Arrivals.poisson({ ratePerSecond: 1000, durationMs: 20_000, seed: 7 })
    // expected 20,000 arrivals, sd ~141
    expect(s.length).toBeGreaterThan(19_400)
    expect(s.length).toBeLessThan(20_600)
    const gaps = Array.from({ length: s.length - 1 }, (_, i) => s[i + 1]! - s[i]!)
    expect(gaps.every((g) => g >= 0)).toBe(true)
    // exponential: mean = sd = 1 ms; P(gap > 3 ms) = e^-3
    expect(Stats.mean(gaps)).toBeCloseTo(1, 1)
    expect(Stats.stdDev(gaps)).toBeCloseTo(1, 1)
    const over3 = gaps.filter((g) => g > 3).length / gaps.length
    expect(over3).toBeGreaterThan(Math.exp(-3) * 0.85)
    expect(over3).toBeLessThan(Math.exp(-3) * 1.15)
    expect(s[s.length - 1]!).toBeLessThan(20_000)
  })

  it("is reproducible and differs between seeds", () => {
    const a = Arrivals.poisson({ ratePerSecond: 50, durationMs: 1000, seed: 1 })
    const b = Arrivals.poisson({ ratePerSecond: 50, durationMs: 1000, seed: 1 })
    const c = Arrivals.poisson({ ratePerSecond: 50, durationMs: 1000, seed: 2 })
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
  })

  it("rejects a non-positive rate", () => {
    expect(() => Arrivals.poisson({ ratePerSecond: 0, durationMs: 10, seed: 1 })).toThrow(RangeError)
    expect(Arrivals.constant({ ratePerSecond: 100, durationMs: 50 })).toEqual(Float64Array.from([0, 10, 20, 30, 40]))
  })
})

describe("Load.littlesLaw", () => {
  it("gives concurrency / mean latency, times the success share", () => {
    // 64 clients, every request takes 200 ms: 320 requests/s
    expect(Load.littlesLaw({ ok: 640, rejected: 0, errors: 0, allLatencySum: 640 * 200 }, 64)).toBeCloseTo(320, 9)
    // a quarter rejected (counted in the mean latency too)
    expect(Load.littlesLaw({ ok: 480, rejected: 160, errors: 0, allLatencySum: 640 * 200 }, 64)).toBeCloseTo(240, 9)
    expect(Load.littlesLaw({ ok: 0, rejected: 0, errors: 0, allLatencySum: 0 }, 64)).toBe(0)
  })
})

describe("Stats with missing windows", () => {
  it("ignores NaN samples (a window that measured nothing)", () => {
    expect(Stats.median([Number.NaN, 3, 1])).toBe(2)
    expect(Stats.mean([Number.NaN, 3, 1])).toBe(2)
    expect(Stats.stdDev([Number.NaN, 1, 3])).toBeCloseTo(Math.SQRT2, 12)
    expect(Stats.distribution([Number.NaN]).count).toBe(0)
  })
})
