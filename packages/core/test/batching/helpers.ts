import { Batcher, BatchSizePolicy, QueuePolicy, WaitPolicy } from "@adabatch/core"
import { Effect, Layer } from "effect"

/** Policies for tests: fixed caps, no wait, a large back-pressured queue unless told otherwise. */
export const policies = (o: {
  readonly maxBatchSize?: number
  readonly maxBatchCost?: number
  readonly wait?: Layer.Layer<WaitPolicy.WaitPolicy>
  readonly capacity?: number
  readonly overflow?: "reject" | "backpressure"
  readonly size?: Layer.Layer<BatchSizePolicy.BatchSizePolicy>
} = {}) =>
  Layer.mergeAll(
    o.size ?? BatchSizePolicy.fixed({ maxBatchSize: o.maxBatchSize ?? 32, maxBatchCost: o.maxBatchCost }),
    o.wait ?? WaitPolicy.none,
    QueuePolicy.layer({ capacity: o.capacity ?? 10_000, overflow: o.overflow ?? "backpressure" })
  )

/** A batch function that records every batch it sees and doubles its inputs. */
export const recorder = <I extends number>(delay?: number) => {
  const seen: Array<ReadonlyArray<I>> = []
  const run = (batch: ReadonlyArray<I>) =>
    Effect.suspend(() => {
      seen.push(batch.slice())
      const out = batch.map((x) => x * 2)
      return delay === undefined ? Effect.succeed(out) : Effect.as(Effect.sleep(delay), out)
    })
  return { seen, run }
}

export type { Batcher }
