/**
 * `dataloader` 2.2.3 (graphql/dataloader, the usual JavaScript batching library) in front of the
 * same batch function, as a baseline. It coalesces the loads made in one tick of the event loop
 * into one batch (split into batches of at most `maxBatchSize`, which run concurrently); it has no
 * queue, no back-pressure and no timer. The cache is off: the benchmark sends repeated texts and a
 * cache hit would skip the model.
 *
 * @since 0.1.0
 */
import DataLoader from "dataloader"
import { Cause, Effect, Exit } from "effect"
import type { BatchFn } from "./Overloaded.js"

/**
 * Wraps `run` in a DataLoader; returns `submit`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, E>(
  run: BatchFn<I, O, E>,
  options: { readonly maxBatchSize?: number | undefined } = {}
): { readonly submit: (input: I) => Effect.Effect<O, E> } => {
  const loader = new DataLoader<I, O>(
    async (keys) => {
      const exit = await Effect.runPromiseExit(run(keys))
      if (Exit.isSuccess(exit)) return exit.value
      const failure = new BatchFailed(exit.cause)
      return keys.map(() => failure)
    },
    { cache: false, maxBatchSize: options.maxBatchSize ?? 32 }
  )
  return {
    submit: (input) =>
      Effect.callback<O, E>((resume) => {
        loader.load(input).then(
          (value) => resume(Effect.succeed(value)),
          (error: unknown) => {
            const cause = error instanceof BatchFailed ? error.failure : Cause.die(error)
            resume(Effect.failCause(cause))
          }
        )
      })
  }
}

/** Carries a batch's failure through DataLoader, which wants one `Error` per key. */
class BatchFailed<E> extends Error {
  constructor(readonly failure: Cause.Cause<E>) {
    super("batch failed")
  }
}
