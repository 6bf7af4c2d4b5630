/**
 * PLACEHOLDER — the engine is being written; the public types below are final.
 * @since 0.1.0
 */
import type { Duration, Effect } from "effect"
import type { BatcherError } from "./BatchError.js"

/** @since 0.1.0 */
export interface SubmitOptions {
  /** Time budget from now; default: the engine's `requestTimeout`. */
  readonly timeout?: Duration.Input | undefined
}

/** @since 0.1.0 */
export interface Timed<O> {
  readonly value: O
  /** ms from submit to dispatch. */
  readonly queueMs: number
  /** ms the batch that computed it ran. */
  readonly batchMs: number
  /** Size of that batch. */
  readonly batchSize: number
}

/** @since 0.1.0 */
export interface BatcherSnapshot {
  readonly queued: number
  readonly capacity: number
  readonly overflow: "reject" | "backpressure"
  readonly workers: number
  readonly busyWorkers: number
  readonly maxBatchSize: number
  readonly maxBatchCost: number
  readonly maxWaitMs: number
  /** Recent arrival rate (items/s). */
  readonly arrivalRate: number
  readonly accepting: boolean
  /** Queue utilisation high enough that new work would likely be refused or wait long. */
  readonly saturated: boolean
  readonly policies: { readonly batchSize: string; readonly wait: string; readonly queue: string }
}

/** @since 0.1.0 */
export interface Batcher<I, O, E = never> {
  readonly submit: (input: I, options?: SubmitOptions) => Effect.Effect<O, E | BatcherError>
  readonly submitTimed: (input: I, options?: SubmitOptions) => Effect.Effect<Timed<O>, E | BatcherError>
  readonly snapshot: Effect.Effect<BatcherSnapshot>
}
