/**
 * Batch-time curves: how long a batch takes by its size (and its items' token count), as data.
 * They drive the policy simulator (`Simulator`): a batch function that sleeps for the time a curve
 * gives, so batching policies can be compared on the TestClock or in real time without a model.
 *
 * A curve is a list of `[batch size, items per second]` points. Between points the rate is
 * interpolated linearly in log(batch size); beyond the last point it stays at the last rate (time
 * grows linearly); a batch of `b` items takes `b / rate(b)` seconds.
 *
 * **Where the measured curves come from**: `shared/perf/curves.json` of the scale-up issue (#13):
 * raw onnxruntime-node 1.30 `session.run` throughput of the built-in default model (MiniLM-L6
 * shape), measured with this project's bench (`pnpm bench --scenario model`) in a worker thread,
 * on 2026-11-26. `2core-*`: the 2-vCPU development machine (AMD EPYC, one session, 2 intra-op
 * threads). `16core-12thr-*`: a 16-core Intel Xeon, one session with 12 intra-op threads.
 * `16core-3thr-*`: the same machine, one session with 3 threads, measured while 4 such sessions ran
 * side by side. `seq16` / `seq128`: every item 16 / 128 tokens. The synthetic curves are shapes no
 * machine here has but a policy must handle: an accelerator (`gpu-like`), no batching benefit at
 * all (`flat`), a sharp optimum (`sharp`).
 *
 * @since 0.1.0
 */

/**
 * One curve.
 *
 * @since 0.1.0
 * @category models
 */
export interface Curve {
  readonly name: string
  /** Tokens per item the curve was measured at. */
  readonly tokens: number
  /** `[batch size, items per second]`, by increasing batch size, the first at batch 1. */
  readonly points: ReadonlyArray<readonly [number, number]>
  /** Sessions that ran side by side when it was measured (1 unless noted). */
  readonly sessions: number
  /** `measured` (see the module comment) or `synthetic`. */
  readonly origin: "measured" | "synthetic"
  readonly note?: string | undefined
}

const measured = (
  name: string,
  tokens: number,
  sessions: number,
  points: ReadonlyArray<readonly [number, number]>
): Curve => ({ name, tokens, sessions, points, origin: "measured" })

/**
 * The measured curves (items/s by batch size), copied from `shared/perf/curves.json`.
 *
 * @since 0.1.0
 * @category data
 */
export const measuredCurves: ReadonlyArray<Curve> = [
  measured("2core-seq16", 16, 1, [[1, 262], [4, 333], [8, 359], [16, 368], [32, 438], [64, 452]]),
  measured("2core-seq128", 128, 1, [[1, 43.9], [4, 52.0], [8, 54.4], [16, 55.9], [32, 57.1], [64, 55.2]]),
  measured("16core-12thr-seq16", 16, 1, [[1, 487], [8, 956], [32, 1499], [64, 1592], [128, 1629]]),
  measured("16core-12thr-seq128", 128, 1, [[1, 140], [8, 251], [32, 267], [64, 259], [128, 244]]),
  measured("16core-3thr-seq16", 16, 4, [[1, 438], [8, 554], [32, 662], [64, 831]]),
  measured("16core-3thr-seq128", 128, 4, [[1, 89.8], [8, 116], [32, 87.7], [64, 86.9]])
]

/**
 * Synthetic shapes.
 *
 * @since 0.1.0
 * @category data
 */
export const syntheticCurves: ReadonlyArray<Curve> = [
  {
    name: "gpu-like",
    tokens: 32,
    sessions: 1,
    points: [[1, 246.9], [16, 3333], [64, 8889], [128, 12308]],
    origin: "synthetic",
    note: "4 ms + 0.05 ms per item: the flat-then-linear batch time of an accelerator (from curves.json)"
  },
  {
    name: "flat",
    tokens: 32,
    sessions: 1,
    points: [[1, 250], [128, 250]],
    origin: "synthetic",
    note: "4 ms per item whatever the batch: batching brings nothing"
  },
  {
    name: "sharp",
    tokens: 32,
    sessions: 1,
    points: [[1, 100], [4, 180], [8, 300], [16, 500], [32, 260], [64, 160], [128, 120]],
    origin: "synthetic",
    note: "a sharp optimum at 16 items: half the rate at 8 or 32"
  }
]

/**
 * Every curve, measured first.
 *
 * @since 0.1.0
 * @category data
 */
export const curves: ReadonlyArray<Curve> = [...measuredCurves, ...syntheticCurves]

/**
 * The curve named `name`.
 *
 * @since 0.1.0
 * @category utils
 */
export const byName = (name: string): Curve => {
  const curve = curves.find((c) => c.name === name)
  if (curve === undefined) throw new RangeError(`unknown curve ${JSON.stringify(name)}`)
  return curve
}

/**
 * Items per second of a batch of `size` items (interpolated in log size; the last rate beyond the
 * last point).
 *
 * @since 0.1.0
 * @category utils
 */
export const itemsPerSecond = (curve: Curve, size: number): number => {
  const ps = curve.points
  const b = Math.max(1, size)
  if (b <= ps[0]![0]) return ps[0]![1]
  for (let i = 1; i < ps.length; i++) {
    const [b1, r1] = ps[i]!
    if (b <= b1) {
      const [b0, r0] = ps[i - 1]!
      return r0 + (r1 - r0) * (Math.log(b / b0) / Math.log(b1 / b0))
    }
  }
  return ps[ps.length - 1]![1]
}

/**
 * Time of one batch of `size` items of the curve's token count (ms).
 *
 * @since 0.1.0
 * @category utils
 */
export const batchMs = (curve: Curve, size: number): number => (1000 * Math.max(1, size)) / itemsPerSecond(curve, size)

/**
 * Time of one batch of `size` items padded to `tokens` tokens each, from the curves of one
 * machine measured at several token counts (ms). Between two measured token counts the time is
 * interpolated linearly; above the longest it grows in proportion to the tokens; below the
 * shortest, half of it is taken as fixed and half as proportional.
 *
 * @since 0.1.0
 * @category utils
 */
export const batchMsAt = (family: ReadonlyArray<Curve>, size: number, tokens: number): number => {
  const sorted = [...family].sort((a, b) => a.tokens - b.tokens)
  const first = sorted[0]!
  const last = sorted[sorted.length - 1]!
  if (tokens <= first.tokens) return batchMs(first, size) * (0.5 + (0.5 * tokens) / first.tokens)
  if (tokens >= last.tokens) return batchMs(last, size) * (tokens / last.tokens)
  let i = 1
  while (sorted[i]!.tokens < tokens) i++
  const lo = sorted[i - 1]!
  const hi = sorted[i]!
  const w = (tokens - lo.tokens) / (hi.tokens - lo.tokens)
  return batchMs(lo, size) * (1 - w) + batchMs(hi, size) * w
}

/**
 * The batch size (1..`maxSize`) with the highest rate, and that rate.
 *
 * @since 0.1.0
 * @category utils
 */
export const best = (curve: Curve, maxSize = 128): { readonly size: number; readonly itemsPerSecond: number } => {
  let size = 1
  let rate = itemsPerSecond(curve, 1)
  for (let b = 2; b <= maxSize; b++) {
    const r = itemsPerSecond(curve, b)
    if (r > rate) {
      size = b
      rate = r
    }
  }
  return { size, itemsPerSecond: rate }
}
