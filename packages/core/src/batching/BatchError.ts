/**
 * Typed errors raised by the batching engine. Every error names what went wrong and carries the
 * figures a caller needs to react (a retry-after hint, the deadline, the cost budget).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The queue is at capacity and the overflow strategy is `reject`. Retry after `retryAfterMs`.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueFull extends Data.TaggedError("QueueFull")<{
  /** Items waiting when the request was refused. */
  readonly queued: number
  /** The queue capacity in force at that moment. */
  readonly capacity: number
  /** Estimated time until the queue has room again (ms), from the recent drain rate. */
  readonly retryAfterMs: number
}> {
  override get message(): string {
    return `queue full: ${this.queued} of ${this.capacity} slots taken; retry after ${this.retryAfterMs} ms`
  }
}

/**
 * The request's deadline passed before it was dispatched: it was never computed.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeadlineExceeded extends Data.TaggedError("DeadlineExceeded")<{
  /** How long the request waited (ms). */
  readonly waitedMs: number
  /** The time budget the request had (ms). */
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `deadline exceeded: waited ${Math.round(this.waitedMs)} ms of a ${Math.round(this.timeoutMs)} ms budget`
  }
}

/**
 * The engine is shutting down: either it no longer accepts work, or the drain timeout passed
 * before this request could be computed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShuttingDown extends Data.TaggedError("ShuttingDown")<{
  /** `"intake-closed"`: refused at submit; `"drain-timeout"`: accepted but not finished in time. */
  readonly reason: "intake-closed" | "drain-timeout"
}> {
  override get message(): string {
    return this.reason === "intake-closed"
      ? "shutting down: no new requests are accepted"
      : "shutting down: the drain timeout passed before this request was computed"
  }
}

/**
 * A single input costs more than the whole batch budget, so no batch could ever hold it.
 *
 * @since 0.1.0
 * @category errors
 */
export class CostExceedsBudget extends Data.TaggedError("CostExceedsBudget")<{
  readonly cost: number
  readonly budget: number
}> {
  override get message(): string {
    return `input cost ${this.cost} exceeds the batch cost budget ${this.budget}`
  }
}

/**
 * The batch function returned a different number of outputs than it received inputs.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchShapeMismatch extends Data.TaggedError("BatchShapeMismatch")<{
  readonly inputs: number
  readonly outputs: number
}> {
  override get message(): string {
    return `batch function returned ${this.outputs} outputs for ${this.inputs} inputs`
  }
}

/**
 * Any error the engine itself can raise for a submitted request.
 *
 * @since 0.1.0
 * @category errors
 */
export type BatcherError = QueueFull | DeadlineExceeded | ShuttingDown | CostExceedsBudget | BatchShapeMismatch
