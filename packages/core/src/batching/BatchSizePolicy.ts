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
import * as Search from "./BatchSizeSearch.js"

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
  /**
   * With several workers: every other worker was busy when the batch formed (default false).
   * Under load the workers take what is queued in turn and their batches need not be capped:
   * this says the load was there all the same.
   */
  readonly othersBusy?: boolean | undefined
  /**
   * The policy's limits when the batch formed (the object `current` gave). With several workers
   * a batch may finish after the limits changed; omitted, the limits in force are assumed.
   */
  readonly limits?: BatchLimits | undefined
  /**
   * How long the batch's worker stood idle before the batch started while work was there: from
   * when it freed, or from the batch's oldest input's arrival if later (ms, default 0). Waits to
   * fill a batch count; idling for lack of work does not. With several workers, a policy that
   * lets one worker take what another could have run is charged that time.
   */
  readonly idleMs?: number | undefined
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
 * @example
 * ```ts
 * import { BatchSizePolicy } from "@adabatch/core"
 *
 * // at most 32 inputs and 8,192 (padded) tokens per batch
 * export const caps = BatchSizePolicy.fixed({ maxBatchSize: 32, maxBatchCost: 8192 })
 * ```
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
  /**
   * Smallest learned cost budget (default `maxBatchCost / 1024`, at least 1). Budgets below one
   * input's cost all form batches of one input.
   */
  readonly minBatchCost?: number | undefined
  /** A batch may take at most this long (ms); larger caps that exceed it are abandoned (default 1000). */
  readonly targetLatencyMs?: number | undefined
  /** Where to start on the ladder (default: the hard cap). */
  readonly initial?: number | undefined
  /** Batches per decision window, and the fewest per probe (default 8). */
  readonly samplesPerDecision?: number | undefined
  /** The most batches one probe runs before it counts as a tie (default 32). */
  readonly maxProbeSamples?: number | undefined
  /** Smallest relative throughput gain worth a move (default 0.01 = 1 %); gains must also be significant. */
  readonly tolerance?: number | undefined
  /** The longest pause between two probes in one direction, in decision windows (default 64). */
  readonly maxBackoff?: number | undefined
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
 * The adaptive batch-size policy: the limit (item cap, or padded-token budget when one is
 * configured) whose batches do the most useful work per second, found online by probing a
 * geometric ladder of limits (ratio sqrt 2).
 *
 * **What it optimises.** Useful work per second (items, or the sum of item costs when inputs carry
 * a cost such as tokens) over all the workers, with every batch under a latency target. Padding
 * waste counts against a budget: a padded batch of long and short texts does less useful work.
 * The engine shares queued work among the free workers, so the aggregate rate is the workers'
 * count times the rate of one batch; the policy maximises that rate, measured on the batches'
 * actual sizes, and probes limits below the sizes that form as well as above the limit in force
 * (see `BatchSizeSearch` for the algorithm and why).
 *
 * Every batch reports the limits it formed under (`BatchSample.limits`): with several workers,
 * batches formed under the previous limit are still finishing after a change, and they must not
 * be taken for measurements of the new one.
 *
 * When per-item cost grows with batch size (large batches of long sequences), throughput peaks at a
 * small limit and the policy settles there; when batching is cheap, it climbs to the hard cap.
 * Unlike BentoML's linear latency model, it makes no assumption on the shape of the latency curve;
 * unlike Clipper's AIMD, it does not oscillate around a latency bound when throughput, not
 * latency, is what limits. Under a light load the batches are smaller than the limit and nothing
 * moves: the limit only binds when work piles up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdaptive = (options: AdaptiveOptions): BatchSizePolicy["Service"] => {
  const maxBatchSize = Math.floor(validate("maxBatchSize", options.maxBatchSize, 1))
  const byCost = options.maxBatchCost !== undefined && Number.isFinite(options.maxBatchCost)
  const maxBatchCost = byCost ? validate("maxBatchCost", options.maxBatchCost!, 1) : Number.POSITIVE_INFINITY
  const steps = byCost
    ? ladder(Math.max(1, options.minBatchCost ?? Math.floor(maxBatchCost / 1024)), maxBatchCost)
    : ladder(Math.max(1, options.minBatchSize ?? 1), maxBatchSize)
  const target = validate("targetLatencyMs", options.targetLatencyMs ?? 1000, 0)
  const search = Search.make({
    steps,
    initial: Search.nearest(steps, options.initial ?? steps[steps.length - 1]!),
    targetLatencyMs: target,
    minSamples: options.samplesPerDecision,
    maxSamples: options.maxProbeSamples,
    tolerance: options.tolerance,
    maxBackoff: options.maxBackoff
  })
  const limitsAt = (i: number): BatchLimits =>
    byCost ? { maxBatchSize, maxBatchCost: steps[i]! } : { maxBatchSize: steps[i]!, maxBatchCost }
  const all = steps.map((_, i) => limitsAt(i))
  const indexOf = (l: BatchLimits | undefined): number | undefined => {
    if (l === undefined) return undefined
    const i = all.indexOf(l)
    return i >= 0 ? i : -1
  }
  return BatchSizePolicy.of({
    name: "adaptive",
    hardLimits: { maxBatchSize, maxBatchCost },
    current: Effect.sync(() => all[search.limit()]!),
    observe: (sample) =>
      Effect.sync(() =>
        search.observe({
          amount: byCost ? sample.cost : sample.size,
          work: sample.work,
          size: sample.size,
          durationMs: sample.durationMs,
          idleMs: sample.idleMs ?? 0,
          capped: sample.capped,
          othersBusy: sample.othersBusy ?? false,
          formedUnder: indexOf(sample.limits)
        })
      ),
    describe: Effect.sync(() => {
      const state = search.state()
      const limits = all[state.limit]!
      return {
        policy: "adaptive",
        controls: byCost ? "maxBatchCost" : "maxBatchSize",
        maxBatchSize: limits.maxBatchSize,
        maxBatchCost: limits.maxBatchCost,
        targetLatencyMs: target,
        probing: state.probing ? "yes" : "no",
        decisions: state.decisions,
        throughputPerMs: state.ratePerMs,
        batchDurationMs: state.durationMs
      }
    })
  })
}

/**
 * A Layer with the adaptive policy (fresh state per Layer build).
 *
 * @example
 * ```ts
 * import { BatchSizePolicy } from "@adabatch/core"
 *
 * // searches the cap between 1 and 128 inputs for the highest throughput, batches within 100 ms
 * export const caps = BatchSizePolicy.adaptive({ maxBatchSize: 128, maxBatchCost: 16384, targetLatencyMs: 100 })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const adaptive = (options: AdaptiveOptions): Layer.Layer<BatchSizePolicy> =>
  Layer.sync(BatchSizePolicy, () => makeAdaptive(options))
