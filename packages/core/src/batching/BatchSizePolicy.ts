/**
 * `BatchSizePolicy`: how big the next batch may be. The engine reads `current` once per batch,
 * when the batch opens, and reports every finished batch to `observe`.
 *
 * Two implementations:
 * - {@link fixed}: constant caps (`maxBatchSize` items, `maxBatchCost` cost units).
 * - {@link adaptive}: learns online the cap (or cost budget) that maximises throughput while
 *   keeping batch latency under a target. See its doc comment for the algorithm.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

/**
 * The caps in force for one batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchLimits {
  /** At most this many items. */
  readonly maxBatchSize: number
  /** At most this much cost (e.g. padded tokens); `Infinity` when inputs carry no cost. */
  readonly maxBatchCost: number
}

/**
 * What the engine reports after each batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchSample {
  /** Items in the batch. */
  readonly size: number
  /** The batch's cost as counted against the budget (e.g. longest x count). */
  readonly cost: number
  /** Useful work in the batch: the sum of item costs, or the size when inputs carry no cost. */
  readonly work: number
  /** Wall time of the batch function (ms). */
  readonly durationMs: number
  /**
   * `true` when the batch was closed by a cap (size or cost), i.e. more work was waiting: only
   * such batches tell how the current cap performs under load.
   */
  readonly capped: boolean
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class BatchSizePolicy extends Context.Service<BatchSizePolicy, {
  /** `"fixed"` or `"adaptive"`. */
  readonly name: string
  /** The hard caps: nothing ever exceeds these, whatever the policy learns. */
  readonly hardLimits: BatchLimits
  /** The caps for the next batch. */
  readonly current: Effect.Effect<BatchLimits>
  /** Feed back one finished batch. */
  readonly observe: (sample: BatchSample) => Effect.Effect<void>
  /** Current internal values, for `/info` and metrics. */
  readonly describe: Effect.Effect<Record<string, number | string>>
}>()("@adabatch/core/BatchSizePolicy") {}

const validate = (name: string, value: number, min: number): number => {
  if (!(value >= min)) throw new RangeError(`${name} must be a number >= ${min}, got ${value}`)
  return value
}

/**
 * Options of the fixed policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface FixedOptions {
  readonly maxBatchSize: number
  /** Cost budget per batch; omit when inputs carry no cost. */
  readonly maxBatchCost?: number | undefined
}

/**
 * Constant caps.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFixed = (options: FixedOptions): BatchSizePolicy["Service"] => {
  const limits: BatchLimits = {
    maxBatchSize: Math.floor(validate("maxBatchSize", options.maxBatchSize, 1)),
    maxBatchCost: validate("maxBatchCost", options.maxBatchCost ?? Number.POSITIVE_INFINITY, 1)
  }
  const current = Effect.succeed(limits)
  return BatchSizePolicy.of({
    name: "fixed",
    hardLimits: limits,
    current,
    observe: () => Effect.void,
    describe: Effect.succeed({ policy: "fixed", maxBatchSize: limits.maxBatchSize, maxBatchCost: limits.maxBatchCost })
  })
}

/**
 * A Layer with constant caps.
 *
 * @since 0.1.0
 * @category layers
 */
export const fixed = (options: FixedOptions): Layer.Layer<BatchSizePolicy> =>
  Layer.sync(BatchSizePolicy, () => makeFixed(options))

/**
 * Options of the adaptive policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdaptiveOptions {
  /** Hard item cap; the learned cap never exceeds it. */
  readonly maxBatchSize: number
  /**
   * Hard cost budget. When given, the policy learns a cost budget (between `minBatchCost` and this)
   * and keeps the item cap at `maxBatchSize`; otherwise it learns the item cap.
   */
  readonly maxBatchCost?: number | undefined
  /** Smallest learned item cap (default 1). */
  readonly minBatchSize?: number | undefined
  /** Smallest learned cost budget (default `maxBatchCost / 64`, at least 1). */
  readonly minBatchCost?: number | undefined
  /** A batch may take at most this long (ms); larger caps that exceed it are abandoned (default 1000). */
  readonly targetLatencyMs?: number | undefined
  /** Where to start on the ladder (default: the hard cap). */
  readonly initial?: number | undefined
  /** Capped batches observed per decision (default 4). */
  readonly samplesPerDecision?: number | undefined
  /** Relative throughput gain needed to move (default 0.03 = 3 %). */
  readonly tolerance?: number | undefined
  /** Decisions after which a neighbour's measurement is stale and re-probed (default 40). */
  readonly staleAfter?: number | undefined
}

interface Rung {
  /** EWMA of work units per ms. */
  throughput: number
  /** EWMA of batch duration (ms). */
  durationMs: number
  samples: number
  /** Decision count when last measured. */
  measuredAt: number
}

/**
 * A geometric ladder with ratio sqrt(2) between `min` and `max`, both included, integers, unique.
 *
 * @since 0.1.0
 * @category internals
 */
export const ladder = (min: number, max: number): Array<number> => {
  const out: Array<number> = []
  for (let x = Math.max(1, min); x < max; x *= Math.SQRT2) {
    const r = Math.round(x)
    if (out.length === 0 || out[out.length - 1]! < r) out.push(r)
  }
  if (out.length === 0 || out[out.length - 1]! < max) out.push(Math.floor(max))
  return out
}

/**
 * The adaptive batch-size policy: online hill-climbing on a geometric ladder of caps.
 *
 * **What it optimises.** Throughput in work units per second (items, or the sum of item costs
 * when inputs carry a cost such as tokens), subject to a batch latency target. Padding waste
 * therefore counts against a cap: a padded batch of long and short texts does less useful work.
 *
 * **Algorithm.**
 * 1. The controlled value `c` (the item cap, or the cost budget when a budget is configured) lives
 *    on a ladder `min, min*sqrt2, ..., max` (rounded). It starts at `initial` (default: the max).
 * 2. Every finished batch updates an exponentially weighted average of throughput (work / duration)
 *    and duration for the ladder rung that matches the batch's size (or cost). Every batch counts,
 *    so light-load batches teach the small rungs for free.
 * 3. Only batches closed by the cap (more work was waiting) drive decisions: under light load the
 *    cap does not matter and is left alone. After `samplesPerDecision` capped batches:
 *    - if the current rung's mean duration exceeds `targetLatencyMs`, step down;
 *    - else if a neighbour rung was measured recently (within `staleAfter` decisions) and its
 *      throughput beats the current one by more than `tolerance`, move there (the upper neighbour
 *      only if its duration is within the target);
 *    - else if a neighbour is unmeasured or stale, probe it for one decision (upwards first when
 *      the predicted duration, current x sqrt2, fits the target);
 *    - otherwise stay.
 *    With a cost budget, a capped batch whose cost is far below the budget was closed by the item
 *    cap: the budget is first brought down to that cost, so that the budget is what binds and what
 *    the policy tunes (otherwise a 32-item cap would hide the 4-8 item optimum of long inputs).
 *    A probe that turns out worse is undone at the next decision by the same comparison, so the
 *    policy settles on the rung whose neighbours are both worse, and re-checks them periodically
 *    because the optimum moves with the input mix (ONNX's best batch size is 4-8 at 128 tokens and
 *    32-64 at 16 tokens on these machines: /work/shared/PERF-NOTES.md).
 *
 * When per-item cost grows with batch size (large batches of long sequences), throughput peaks at a
 * small rung and the policy settles there; when batching is cheap, throughput keeps rising and it
 * climbs to the hard cap. Unlike BentoML's linear latency model, it makes no assumption on the shape
 * of the latency curve; unlike Clipper's AIMD, it does not oscillate around a latency bound when
 * throughput, not latency, is what limits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdaptive = (options: AdaptiveOptions): BatchSizePolicy["Service"] => {
  const maxBatchSize = Math.floor(validate("maxBatchSize", options.maxBatchSize, 1))
  const byCost = options.maxBatchCost !== undefined && Number.isFinite(options.maxBatchCost)
  const maxBatchCost = byCost ? validate("maxBatchCost", options.maxBatchCost!, 1) : Number.POSITIVE_INFINITY
  const steps = byCost
    ? ladder(Math.max(1, options.minBatchCost ?? Math.floor(maxBatchCost / 64)), maxBatchCost)
    : ladder(Math.max(1, options.minBatchSize ?? 1), maxBatchSize)
  const target = validate("targetLatencyMs", options.targetLatencyMs ?? 1000, 0)
  const perDecision = Math.max(1, options.samplesPerDecision ?? 4)
  const tolerance = options.tolerance ?? 0.03
  const staleAfter = options.staleAfter ?? 40
  const alpha = 0.3
  const rungs: Array<Rung> = steps.map(() => ({ throughput: 0, durationMs: 0, samples: 0, measuredAt: -Infinity }))
  const initial = options.initial ?? steps[steps.length - 1]!
  let k = nearest(steps, initial)
  let decisions = 0
  let sinceDecision = 0
  let lastMove = 0 // +1 up, -1 down, 0 none
  let limits: BatchLimits = makeLimits()

  function makeLimits(): BatchLimits {
    return byCost
      ? { maxBatchSize, maxBatchCost: steps[k]! }
      : { maxBatchSize: steps[k]!, maxBatchCost }
  }

  const fresh = (i: number) => rungs[i]!.samples > 0 && decisions - rungs[i]!.measuredAt <= staleAfter

  const decide = () => {
    decisions++
    const cur = rungs[k]!
    const up = k + 1 < steps.length ? k + 1 : -1
    const down = k > 0 ? k - 1 : -1
    let next = k
    if (cur.samples > 0 && cur.durationMs > target && down >= 0) {
      next = down
    } else if (
      up >= 0 && fresh(up) && rungs[up]!.throughput > cur.throughput * (1 + tolerance) &&
      rungs[up]!.durationMs <= target
    ) {
      next = up
    } else if (down >= 0 && fresh(down) && rungs[down]!.throughput > cur.throughput * (1 + tolerance)) {
      next = down
    } else {
      const upFits = cur.durationMs * Math.SQRT2 <= target
      const probeUp = up >= 0 && !fresh(up) && upFits
      const probeDown = down >= 0 && !fresh(down)
      if (probeUp && (lastMove >= 0 || !probeDown)) next = up
      else if (probeDown) next = down
    }
    lastMove = next > k ? 1 : next < k ? -1 : 0
    k = next
    limits = makeLimits()
  }

  const observe = (sample: BatchSample) =>
    Effect.sync(() => {
      if (sample.size <= 0 || !(sample.durationMs >= 0)) return
      // A budget far above what a capped batch cost is not binding (the item cap closed the batch):
      // bring the budget down to that cost, so that it is the budget that the policy tunes.
      if (byCost && sample.capped && sample.cost < steps[k]! / Math.SQRT2) {
        const from = k
        k = Math.max(0, floorRung(steps, sample.cost))
        sinceDecision = 0
        lastMove = -1
        limits = makeLimits()
        // every rung above would form this same batch: they are measured by it too
        const thr = sample.work / Math.max(sample.durationMs, 1e-3)
        for (let j = k + 1; j <= from; j++) {
          const r = rungs[j]!
          r.throughput = thr
          r.durationMs = sample.durationMs
          r.samples++
          r.measuredAt = decisions
        }
      }
      // A capped batch is the current rung's measurement; others go to the rung nearest their size.
      const i = sample.capped ? k : nearest(steps, byCost ? sample.cost : sample.size)
      const r = rungs[i]!
      const thr = sample.work / Math.max(sample.durationMs, 1e-3)
      if (r.samples === 0 || decisions - r.measuredAt > staleAfter) {
        r.throughput = thr
        r.durationMs = sample.durationMs
      } else {
        r.throughput += alpha * (thr - r.throughput)
        r.durationMs += alpha * (sample.durationMs - r.durationMs)
      }
      r.samples++
      r.measuredAt = decisions
      if (!sample.capped) return
      if (++sinceDecision >= perDecision) {
        sinceDecision = 0
        decide()
      }
    })

  return BatchSizePolicy.of({
    name: "adaptive",
    hardLimits: { maxBatchSize, maxBatchCost },
    current: Effect.sync(() => limits),
    observe,
    describe: Effect.sync(() => ({
      policy: "adaptive",
      controls: byCost ? "maxBatchCost" : "maxBatchSize",
      maxBatchSize: limits.maxBatchSize,
      maxBatchCost: limits.maxBatchCost,
      targetLatencyMs: target,
      decisions,
      throughputPerMs: rungs[k]!.throughput,
      batchDurationMs: rungs[k]!.durationMs
    }))
  })
}

/**
 * A Layer with the adaptive policy (fresh state per Layer build).
 *
 * @since 0.1.0
 * @category layers
 */
export const adaptive = (options: AdaptiveOptions): Layer.Layer<BatchSizePolicy> =>
  Layer.sync(BatchSizePolicy, () => makeAdaptive(options))

/** Index of the largest rung <= x (0 when none). */
const floorRung = (steps: ReadonlyArray<number>, x: number): number => {
  let i = 0
  while (i + 1 < steps.length && steps[i + 1]! <= x) i++
  return i
}

const nearest = (steps: ReadonlyArray<number>, x: number): number => {
  let best = 0
  let bestD = Infinity
  for (let i = 0; i < steps.length; i++) {
    const d = Math.abs(Math.log(steps[i]!) - Math.log(Math.max(x, 1e-9)))
    if (d < bestD) {
      bestD = d
      best = i
    }
  }
  return best
}
