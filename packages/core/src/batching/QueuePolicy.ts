/**
 * `QueuePolicy`: how many requests may wait, and what happens when that many do.
 *
 * - `overflow: "backpressure"`: `submit` suspends until there is room. Only a request that could
 *   not make its deadline anyway is refused (`shedLate`, on by default): when the inputs queued
 *   ahead, at the throughput measured while saturated, would outlast its timeout, it fails at once
 *   with `Overloaded` instead of waiting the whole timeout for `DeadlineExceeded`. Without this, a
 *   sustained overload makes every waiter reach the front just as its deadline passes, and almost
 *   nothing is answered in time.
 * - `overflow: "reject"`: `submit` fails at once with `QueueFull`, carrying a retry-after hint.
 * - `dynamic` (with `reject`): the capacity moves between `floor` and `ceiling`, growing x1.5 when
 *   more than `growAboveRejectionRate` of recent submits were refused and shrinking x0.8 when
 *   utilisation stayed below `shrinkBelowUtilisation` (the seed's DynamicQueueManager, evaluated
 *   once per `windowMs` of traffic).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

/**
 * Dynamic capacity settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface DynamicCapacity {
  readonly floor: number
  readonly ceiling: number
  /** Grow when the rejection rate over a window exceeds this (default 0.05). */
  readonly growAboveRejectionRate?: number | undefined
  /** Shrink when peak utilisation over a window stays below this (default 0.3). */
  readonly shrinkBelowUtilisation?: number | undefined
  /** Evaluation window (default 1000 ms). */
  readonly windowMs?: number | undefined
}

/**
 * Options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly capacity: number
  readonly overflow: "reject" | "backpressure"
  readonly dynamic?: DynamicCapacity | undefined
  /**
   * With `backpressure`: refuse at once (`Overloaded`) a request the queued work would keep past
   * its deadline (default `true`).
   */
  readonly shedLate?: boolean | undefined
}

/**
 * A window's traffic, as the engine reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface WindowStats {
  readonly submitted: number
  readonly rejected: number
  /** Highest queue depth seen in the window / capacity. */
  readonly peakUtilisation: number
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class QueuePolicy extends Context.Service<QueuePolicy, {
  readonly name: string
  readonly overflow: "reject" | "backpressure"
  /** Back-pressure refuses requests the queued work would keep past their deadline. */
  readonly shedLate: boolean
  /** Largest capacity it may ever ask for (the physical queue bound). */
  readonly maxCapacity: number
  /** Capacity in force now. */
  readonly capacity: () => number
  /** Evaluation window for `adjust` (ms); `Infinity` when the capacity is fixed. */
  readonly windowMs: number
  /** Called by the engine once per window; returns the new capacity. */
  readonly adjust: (stats: WindowStats) => number
  readonly describe: Effect.Effect<Record<string, number | string>>
}>()("@adabatch/core/QueuePolicy") {}

const positiveInt = (name: string, n: number): number => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`)
  return n
}

/**
 * Builds the policy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): QueuePolicy["Service"] => {
  const dyn = options.dynamic
  if (dyn !== undefined && options.overflow !== "reject") {
    throw new RangeError(
      "dynamic queue capacity needs overflow \"reject\": back-pressure never refuses, so there is no rejection rate to drive it"
    )
  }
  let capacity = positiveInt("capacity", options.capacity)
  const shedLate = options.overflow === "backpressure" && options.shedLate !== false
  if (dyn === undefined) {
    return QueuePolicy.of({
      name: "fixed",
      overflow: options.overflow,
      shedLate,
      maxCapacity: capacity,
      capacity: () => capacity,
      windowMs: Number.POSITIVE_INFINITY,
      adjust: () => capacity,
      describe: Effect.sync(() => ({
        policy: "fixed",
        overflow: options.overflow,
        capacity,
        ...(options.overflow === "backpressure" ? { shed_late: String(shedLate) } : {})
      }))
    })
  }
  const floor = positiveInt("dynamic.floor", dyn.floor)
  const ceiling = positiveInt("dynamic.ceiling", dyn.ceiling)
  if (floor > ceiling) throw new RangeError(`dynamic.floor (${floor}) must be <= dynamic.ceiling (${ceiling})`)
  capacity = Math.min(ceiling, Math.max(floor, capacity))
  const grow = dyn.growAboveRejectionRate ?? 0.05
  const shrink = dyn.shrinkBelowUtilisation ?? 0.3
  return QueuePolicy.of({
    name: "dynamic",
    overflow: "reject",
    shedLate: false,
    maxCapacity: ceiling,
    capacity: () => capacity,
    windowMs: dyn.windowMs ?? 1000,
    adjust: (w) => {
      const total = w.submitted
      if (total > 0 && w.rejected / total > grow) capacity = Math.min(ceiling, Math.ceil(capacity * 1.5))
      else if (w.peakUtilisation < shrink) capacity = Math.max(floor, Math.floor(capacity * 0.8))
      return capacity
    },
    describe: Effect.sync(() => ({ policy: "dynamic", overflow: "reject", capacity, floor, ceiling }))
  })
}

/**
 * A Layer of the policy.
 *
 * @example
 * ```ts
 * import { QueuePolicy } from "@adabatch/core"
 *
 * // refuse (429) beyond 1,024 queued inputs; or wait for room, shedding what would miss its deadline
 * export const strict = QueuePolicy.layer({ capacity: 1024, overflow: "reject" })
 * export const patient = QueuePolicy.layer({ capacity: 1024, overflow: "backpressure", shedLate: true })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<QueuePolicy> => Layer.sync(QueuePolicy, () => make(options))
