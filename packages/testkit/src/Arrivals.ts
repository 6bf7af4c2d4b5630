/**
 * Open-loop arrival schedules.
 *
 * A Poisson process of rate `λ` has exponentially distributed gaps of mean `1 / λ`. The schedule
 * is computed **before** the run from a seed, so that the load generator sends each request at
 * its planned time whatever the server does, and each latency is measured from the planned send
 * time, not from when the generator got round to sending it (no coordinated omission).
 *
 * @since 0.1.0
 */
import * as Random from "./Random.js"

/**
 * Send times, in milliseconds from the start of the run, ascending.
 *
 * @since 0.1.0
 * @category models
 */
export type Schedule = Float64Array

/**
 * Poisson arrivals at `ratePerSecond` over `durationMs`, from `seed`. Every time is within
 * `[0, durationMs)`. The expected count is `ratePerSecond * durationMs / 1000`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const poisson = (options: {
  readonly ratePerSecond: number
  readonly durationMs: number
  readonly seed: number
}): Schedule => {
  const { durationMs, ratePerSecond, seed } = options
  if (!(ratePerSecond > 0)) throw new RangeError(`arrival rate must be > 0 per second, got ${ratePerSecond}`)
  if (!(durationMs > 0)) throw new RangeError(`schedule duration must be > 0 ms, got ${durationMs}`)
  const rng = Random.make(seed)
  const ratePerMs = ratePerSecond / 1000
  const times: Array<number> = []
  let t = rng.exponential(ratePerMs)
  while (t < durationMs) {
    times.push(t)
    t += rng.exponential(ratePerMs)
  }
  return Float64Array.from(times)
}

/**
 * Evenly spaced arrivals (a constant rate), for comparison with the Poisson schedule.
 *
 * @since 0.1.0
 * @category constructors
 */
export const constant = (options: { readonly ratePerSecond: number; readonly durationMs: number }): Schedule => {
  const { durationMs, ratePerSecond } = options
  if (!(ratePerSecond > 0)) throw new RangeError(`arrival rate must be > 0 per second, got ${ratePerSecond}`)
  const gap = 1000 / ratePerSecond
  const n = Math.ceil(durationMs / gap)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = i * gap
  return out
}
