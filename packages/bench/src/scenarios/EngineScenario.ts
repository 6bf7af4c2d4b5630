/**
 * Scenario `engine`: the engine's own overhead, in process, against the engine ceiling. With 256
 * fibers submitting back to back (interleaved repeats):
 *
 * - `bare`: the bare pipeline (`Queue.bounded(4096)` -> `groupedWithin(64, 1 ms)` -> `Deferred`);
 * - `engine`: `Batcher.make` with a no-op batch function and the same limits (fixed cap 64, fixed
 *   wait 1 ms, queue 4096 with back-pressure);
 * - `engine-default`: `Batcher.make` no-op with the server's default policies (adaptive size
 *   and wait, queue 1024);
 * - `embedder-echo`: the whole in-process path with the `echo` model (`Embedder.embed` of one
 *   text: tokenizer, engine, echo vectors).
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as Core from "../Core.js"
import * as EngineCeiling from "../EngineCeiling.js"
import type { Env } from "../Env.js"

/**
 * The variants measured.
 *
 * @since 0.1.0
 * @category constants
 */
export const engineVariants = ["bare", "engine", "engine-default", "embedder-echo"] as const

/**
 * A variant's figures over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface VariantResult {
  readonly name: typeof engineVariants[number]
  readonly submitsPerSecond: Array<number>
  readonly cpuShare: Array<number>
  readonly failed: Array<number>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineResult {
  readonly concurrency: number
  readonly variants: Array<VariantResult>
}

const concurrency = 256
const warmupMs = 500

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  engineVariants.length * env.options.repeats * (env.options.seconds + warmupMs / 1000) + 1

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<EngineResult, Core.ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const noop = (batch: ReadonlyArray<number>) => Effect.succeed(batch)
    const bare = yield* EngineCeiling.barePipeline<number>({ maxBatchSize: 64, windowMs: 1, capacity: 4096 })
    const engine = yield* Core.Batcher.make({ run: noop }).pipe(
      Effect.provide(Layer.mergeAll(
        Core.BatchSizePolicy.fixed({ maxBatchSize: 64, maxBatchCost: Number.POSITIVE_INFINITY }),
        Core.WaitPolicy.fixed(1),
        Core.QueuePolicy.layer({ capacity: 4096, overflow: "backpressure" })
      ))
    )
    const defaults = Core.ServerConfig.make({})
    const engineDefault = yield* Core.Batcher.make({ run: noop }).pipe(
      Effect.provide(Core.EngineLayers.policiesLayer(defaults))
    )
    const echoModel = yield* Core.modelFor({ model: "echo" })
    const echo = yield* Core.embedderFor(Core.ServerConfig.make({ model: "echo" }), echoModel)
    const text = "The quick brown fox jumps over the lazy dog."
    const submitters: Record<typeof engineVariants[number], (i: number) => Effect.Effect<unknown, unknown>> = {
      bare: bare,
      engine: (i) => engine.submit(i),
      "engine-default": (i) => engineDefault.submit(i),
      "embedder-echo": () => echo.embed([text])
    }
    const variants: Array<VariantResult> = engineVariants.map((name) => ({
      name,
      submitsPerSecond: [],
      cpuShare: [],
      failed: []
    }))
    for (let r = 0; r < env.options.repeats; r++) {
      for (const v of variants) {
        env.progress.step(
          "engine",
          `${v.name}, repeat ${r + 1}/${env.options.repeats}`,
          env.options.seconds + warmupMs / 1000
        )
        const m = yield* EngineCeiling.measureSubmits({
          submit: submitters[v.name],
          concurrency,
          durationMs: env.options.seconds * 1000,
          warmupMs
        })
        v.submitsPerSecond.push(m.submitsPerSecond)
        v.cpuShare.push(m.cpuShare)
        v.failed.push(m.failed)
      }
    }
    return { concurrency, variants }
  }))
