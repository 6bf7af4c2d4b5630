/**
 * The error every baseline raises when it refuses a request for lack of room (the equivalent of
 * HTTP 429 / `QueueFull`).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * A baseline refused a request: its queue (or permit pool) was full.
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Data.TaggedError("Overloaded")<{
  readonly system: string
  readonly capacity: number
}> {
  override get message(): string {
    return `${this.system}: overloaded, all ${this.capacity} slots taken`
  }
}

/**
 * A batch function: inputs in, one output per input in the same order.
 *
 * @since 0.1.0
 * @category models
 */
export type BatchFn<I, O, E> = (batch: ReadonlyArray<I>) => import("effect").Effect.Effect<ReadonlyArray<O>, E>
