/**
 * Hugging Face text-embeddings-inference's batching strategy, as a baseline (a separate small
 * implementation written from TEI's documented design, not a `Batcher` configuration):
 *
 * - **no timer**: a request is admitted if a permit is free (`maxConcurrentRequests`, 512; refused
 *   otherwise, TEI's 429 "Model is overloaded"), and appended to one FIFO queue;
 * - a batching task pops entries until the next one would push the batch over `maxBatchTokens`
 *   (16384, counted as padded tokens: longest x count), the batch holds `maxBatchRequests` (8, the
 *   cap of TEI's ONNX Runtime backend) or the queue is empty;
 * - **one batch is pre-built** while the backend runs the current one: the task builds the next
 *   batch as soon as the previous one was handed over, then waits for the backend to take it. So
 *   an idle server sends a lone request at once, and batches grow only while the backend is busy;
 * - `backends` backend loops take batches (TEI runs one; here one per model worker, so that it
 *   uses the same hardware as the other systems).
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, Queue, type Scope } from "effect"
import { Fifo } from "./Fifo.js"
import { type BatchFn, Overloaded } from "./Overloaded.js"

/**
 * Options (defaults: TEI's).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<I> {
  /** Token count of one input. */
  readonly tokens: (input: I) => number
  readonly maxBatchRequests?: number | undefined
  readonly maxBatchTokens?: number | undefined
  readonly maxConcurrentRequests?: number | undefined
  readonly backends?: number | undefined
}

interface Job<I, O, E> {
  readonly input: I
  readonly tokens: number
  readonly reply: Deferred.Deferred<O, E>
}

/**
 * Starts the batching task and the backend loops in the current scope; returns `submit`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, E>(
  run: BatchFn<I, O, E>,
  options: Options<I>
): Effect.Effect<{ readonly submit: (input: I) => Effect.Effect<O, E | Overloaded> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const maxBatchRequests = options.maxBatchRequests ?? 8
    const maxBatchTokens = options.maxBatchTokens ?? 16384
    const maxConcurrent = options.maxConcurrentRequests ?? 512
    const backends = options.backends ?? 1
    const queue = new Fifo<Job<I, O, E>>()
    // capacity 1: the batching task blocks on offering a second pre-built batch
    const handoff = yield* Queue.bounded<ReadonlyArray<Job<I, O, E>>>(1)
    let permits = maxConcurrent

    const nextBatch = Effect.gen(function*() {
      yield* queue.waitNonEmpty
      const batch: Array<Job<I, O, E>> = []
      let longest = 0
      while (batch.length < maxBatchRequests) {
        const job = queue.peek()
        if (job === undefined) break
        const l = Math.max(longest, job.tokens)
        // does not fit: it stays at the head of the queue for the next batch
        if (batch.length > 0 && l * (batch.length + 1) > maxBatchTokens) break
        queue.shift()
        longest = l
        batch.push(job)
      }
      return batch
    })

    const process = (batch: ReadonlyArray<Job<I, O, E>>) =>
      run(batch.map((j) => j.input)).pipe(
        Effect.exit,
        Effect.map((exit) => {
          for (let i = 0; i < batch.length; i++) {
            const job = batch[i]!
            permits++
            Deferred.doneUnsafe(
              job.reply,
              Exit.isSuccess(exit) ? Exit.succeed(exit.value[i]!) : Exit.failCause(exit.cause)
            )
          }
        })
      )

    yield* nextBatch.pipe(
      Effect.flatMap((batch) => Queue.offer(handoff, batch)),
      Effect.forever,
      Effect.forkScoped
    )
    for (let b = 0; b < backends; b++) {
      yield* Queue.take(handoff).pipe(Effect.flatMap(process), Effect.forever, Effect.forkScoped)
    }

    return {
      submit: (input: I) =>
        Effect.suspend((): Effect.Effect<O, E | Overloaded> => {
          if (permits <= 0) return Effect.fail(new Overloaded({ system: "tei-style", capacity: maxConcurrent }))
          permits--
          const reply = Deferred.makeUnsafe<O, E>()
          queue.push({ input, tokens: options.tokens(input), reply })
          return Deferred.await(reply)
        })
    }
  })
