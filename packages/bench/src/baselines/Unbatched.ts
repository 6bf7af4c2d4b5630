/**
 * No batching: every request is its own batch of one, sent straight to the batch function (which
 * spreads concurrent calls over the model's workers). The floor every batcher must beat under load.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { BatchFn } from "./Overloaded.js"

/**
 * Wraps `run`; returns `submit`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, E>(run: BatchFn<I, O, E>): { readonly submit: (input: I) => Effect.Effect<O, E> } => ({
  submit: (input) => Effect.map(run([input]), (out) => out[0]!)
})
