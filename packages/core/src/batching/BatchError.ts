/**
 * Typed errors raised by the batching engine. Every error names what went wrong and carries the
 * figures a caller needs to react (a retry-after hint, the deadline, the cost budget).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * A tagged error class whose instances capture no stack trace. The engine's refusals (queue full,
 * overloaded, deadline, shutdown) are outcomes, not bugs: their stack would only point into the
 * engine, and capturing it was the costliest part of refusing a request (a fifth of the main thread
 * of a server refusing thousands of requests per second).
 *
 * @since 0.1.0
 * @category constructors
 */
export const Outcome: typeof Data.TaggedError = <Tag extends string>(tag: Tag) => {
  const Base = Data.TaggedError(tag) as unknown as new(args: unknown) => object
  return class extends Base {
    constructor(args: unknown) {
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 0
      super(args)
      Error.stackTraceLimit = limit
    }
  } as unknown as ReturnType<typeof Data.TaggedError<Tag>>
}

/**
 * The queue is at capacity and the overflow strategy is `reject`. Retry after `retryAfterMs`.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueueFull extends Outcome("QueueFull")<{
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
export class DeadlineExceeded extends Outcome("DeadlineExceeded")<{
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
 * Refused at once under back-pressure because the work already queued would keep the request
 * waiting past its deadline: at the throughput the engine measured while saturated, its inputs
 * would finish after about `expectedMs`, more than its `timeoutMs`. Waiting would only end in
 * `DeadlineExceeded` after holding memory and a connection for the whole timeout; refusing at
 * once keeps the admitted requests within their deadlines.
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Outcome("Overloaded")<{
  /** Expected time until the request's inputs would be computed (ms). */
  readonly expectedMs: number
  /** The time budget the request had (ms). */
  readonly timeoutMs: number
  /** Inputs accepted and not yet dispatched, ahead of this request. */
  readonly queued: number
  /** When enough of that work should be done for a request like this one to fit (ms). */
  readonly retryAfterMs: number
}> {
  override get message(): string {
    return `overloaded: the ${this.queued} inputs queued ahead would take about ${
      Math.round(this.expectedMs)
    } ms, beyond the ${Math.round(this.timeoutMs)} ms timeout; retry after ${this.retryAfterMs} ms`
  }
}

/**
 * The engine is shutting down: either it no longer accepts work, or the drain timeout passed
 * before this request could be computed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShuttingDown extends Outcome("ShuttingDown")<{
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
export type BatcherError =
  | QueueFull
  | Overloaded
  | DeadlineExceeded
  | ShuttingDown
  | CostExceedsBudget
  | BatchShapeMismatch
