/**
 * A small seeded pseudo-random generator, so that every schedule and input mix of a run can be
 * reproduced from its seed (recorded in `results.json`).
 *
 * The generator is `mulberry32` (32-bit state, period 2^32): fast, and good enough for arrival
 * times and input picks. It is not for cryptography.
 *
 * @since 0.1.0
 */

/**
 * A seeded generator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Random {
  /** A uniform float in `[0, 1)`. */
  readonly next: () => number
  /** A uniform integer in `[0, n)`. */
  readonly int: (n: number) => number
  /** An exponentially distributed float with the given rate (mean `1 / rate`). */
  readonly exponential: (rate: number) => number
}

/**
 * A generator from a 32-bit seed. The same seed gives the same sequence on every machine.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (seed: number): Random => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n) => Math.floor(next() * n),
    exponential: (rate) => {
      if (!(rate > 0)) throw new RangeError(`exponential rate must be > 0, got ${rate}`)
      // 1 - u is in (0, 1], so the log is finite
      return -Math.log(1 - next()) / rate
    }
  }
}
