/**
 * The engine ceiling: the bare Effect pipeline every batcher built on Effect pays for at least,
 * `Queue.bounded` -> `Stream.fromQueue` -> `Stream.groupedWithin(64, 1 ms)` -> complete one
 * `Deferred` per item, with a no-op "model". And the driver that measures in-process submits per
 * second for it and for the engine under test, with the same concurrent submitters.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, Queue, type Scope, Stream } from "effect"
import { performance } from "node:perf_hooks"

/**
 * Starts the bare pipeline in the current scope; returns its `submit` (identity result).
 *
 * @since 0.1.0
 * @category constructors
 */
export const barePipeline = <A>(options: {
  readonly maxBatchSize?: number | undefined
  readonly windowMs?: number | undefined
  readonly capacity?: number | undefined
} = {}): Effect.Effect<(input: A) => Effect.Effect<A>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<{ readonly input: A; readonly reply: Deferred.Deferred<A> }>(
      options.capacity ?? 4096
    )
    yield* Stream.fromQueue(queue).pipe(
      Stream.groupedWithin(options.maxBatchSize ?? 64, `${options.windowMs ?? 1} millis`),
      Stream.runForEach((batch) =>
        Effect.sync(() => {
          for (const job of batch) Deferred.doneUnsafe(job.reply, Exit.succeed(job.input))
        })
      ),
      Effect.forkScoped
    )
    return (input: A) =>
      Effect.suspend(() => {
        const reply = Deferred.makeUnsafe<A>()
        return Queue.offer(queue, { input, reply }).pipe(Effect.andThen(Deferred.await(reply)))
      })
  })

/**
 * What a submit-rate measurement found.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubmitRate {
  readonly completed: number
  readonly failed: number
  readonly elapsedMs: number
  readonly submitsPerSecond: number
  /** Process CPU over the window as a share of one core (everything here runs on one thread). */
  readonly cpuShare: number
}

/**
 * `concurrency` fibers submit back to back for `durationMs` (after `warmupMs` not counted);
 * counts completed submits per second.
 *
 * @since 0.1.0
 * @category constructors
 */
export const measureSubmits = <A, E>(options: {
  readonly submit: (i: number) => Effect.Effect<A, E>
  readonly concurrency: number
  readonly durationMs: number
  readonly warmupMs?: number | undefined
}): Effect.Effect<SubmitRate> =>
  Effect.gen(function*() {
    const { concurrency, durationMs, submit } = options
    const warmupMs = options.warmupMs ?? 0
    const start = performance.now()
    const measureFrom = start + warmupMs
    const deadline = measureFrom + durationMs
    let completed = 0
    let failed = 0
    let i = 0
    let cpu0 = Number.NaN
    const fiber = Effect.gen(function*() {
      while (true) {
        const t = performance.now()
        if (t >= deadline) return
        if (Number.isNaN(cpu0) && t >= measureFrom) {
          const u = process.cpuUsage()
          cpu0 = (u.user + u.system) / 1000
        }
        const exit = yield* Effect.exit(submit(i++))
        if (t >= measureFrom) {
          if (Exit.isSuccess(exit)) completed++
          else failed++
        }
      }
    })
    yield* Effect.forEach(Array.from({ length: concurrency }), () => fiber, {
      concurrency: "unbounded",
      discard: true
    })
    const end = performance.now()
    const u = process.cpuUsage()
    const elapsedMs = end - measureFrom
    return {
      completed,
      failed,
      elapsedMs,
      submitsPerSecond: (completed * 1000) / elapsedMs,
      cpuShare: Number.isNaN(cpu0) ? 0 : ((u.user + u.system) / 1000 - cpu0) / elapsedMs
    }
  })
