/**
 * The model ceiling: raw `session.run` throughput of the model in a worker thread, for a given
 * batch size and sequence length, with nothing of adabatch in the way (`workers/ortCeiling.mjs`).
 * Every other throughput of a run is compared with these figures, measured in the same run.
 *
 * @since 0.1.0
 */
import { median } from "@adabatch/testkit/Stats"
import { Data, Effect, type Scope } from "effect"
import * as WorkerThreads from "node:worker_threads"

/**
 * The ceiling worker failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelCeilingError extends Data.TaggedError("ModelCeilingError")<{
  readonly modelPath: string
  readonly reason: string
}> {
  override get message(): string {
    return `model ceiling for ${this.modelPath}: ${this.reason}`
  }
}

/**
 * One measurement: `runs` calls of `session.run` on a `[batch, seq]` input.
 *
 * @since 0.1.0
 * @category models
 */
export interface CeilingPoint {
  readonly batch: number
  readonly seq: number
  readonly runs: number
  /** Per-call wall time (ms). */
  readonly timesMs: ReadonlyArray<number>
  /** Items per second over the calls: `batch * runs / sum(times)`. */
  readonly itemsPerSecond: number
  /** Median time of one call (ms). */
  readonly medianMs: number
}

/**
 * A live ceiling worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelCeiling {
  readonly inputNames: ReadonlyArray<string>
  readonly outputNames: ReadonlyArray<string>
  /** Output(s) fetched per run. */
  readonly fetch: ReadonlyArray<string>
  readonly measure: (options: {
    readonly batch: number
    readonly seq: number
    /** Measure for at least this long... */
    readonly minMs: number
    /** ...and at least this many calls. */
    readonly minRuns?: number | undefined
    readonly warmupRuns?: number | undefined
    /** An idle pause before each measured call (ms; default 0: back to back). */
    readonly gapMs?: number | undefined
  }) => Effect.Effect<CeilingPoint, ModelCeilingError>
}

const workerUrl = new URL("./workers/ortCeiling.mjs", import.meta.url)

/**
 * Starts the ceiling worker on the ONNX file `modelPath`, with `intraOpNumThreads` threads (use
 * the same number as the model layer under test). Terminated when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: {
  readonly modelPath: string
  readonly intraOpNumThreads: number
  readonly maxTokenId: number
}): Effect.Effect<ModelCeiling, ModelCeilingError, Scope.Scope> =>
  Effect.gen(function*() {
    const { modelPath } = options
    const worker = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new WorkerThreads.Worker(workerUrl, {
          workerData: {
            modelPath,
            intraOpNumThreads: options.intraOpNumThreads,
            maxTokenId: options.maxTokenId
          }
        })
      ),
      (w) => Effect.promise(() => w.terminate())
    )
    const pending = new Map<number, (msg: { type: string; timesMs?: Array<number>; message?: string }) => void>()
    let nextId = 0
    let dead: string | undefined
    const ready = yield* Effect.callback<
      { inputNames: Array<string>; outputNames: Array<string>; fetch: Array<string> },
      ModelCeilingError
    >((resume) => {
      worker.on("message", (msg: { type: string; id?: number } & Record<string, unknown>) => {
        if (msg.type === "ready") {
          resume(
            Effect.succeed(
              msg as unknown as { inputNames: Array<string>; outputNames: Array<string>; fetch: Array<string> }
            )
          )
        } else if (msg.type === "failed") {
          resume(Effect.fail(new ModelCeilingError({ modelPath, reason: String(msg["message"]) })))
        } else if (msg.id !== undefined) {
          const k = pending.get(msg.id)
          pending.delete(msg.id)
          k?.(msg)
        }
      })
      worker.on("error", (e) => {
        dead = e.message
        resume(Effect.fail(new ModelCeilingError({ modelPath, reason: `worker crashed: ${e.message}` })))
        for (const k of pending.values()) k({ type: "error", message: `worker crashed: ${e.message}` })
        pending.clear()
      })
    })
    return {
      inputNames: ready.inputNames,
      outputNames: ready.outputNames,
      fetch: ready.fetch,
      measure: ({ batch, gapMs, minMs, minRuns, seq, warmupRuns }) =>
        Effect.callback<CeilingPoint, ModelCeilingError>((resume) => {
          if (dead !== undefined) {
            return resume(Effect.fail(new ModelCeilingError({ modelPath, reason: `worker is dead: ${dead}` })))
          }
          const id = nextId++
          pending.set(id, (msg) => {
            if (msg.type !== "measured" || msg.timesMs === undefined) {
              return resume(Effect.fail(new ModelCeilingError({ modelPath, reason: msg.message ?? "no answer" })))
            }
            const times = msg.timesMs
            let sum = 0
            for (const t of times) sum += t
            resume(Effect.succeed({
              batch,
              seq,
              runs: times.length,
              timesMs: times,
              itemsPerSecond: sum > 0 ? (batch * times.length * 1000) / sum : 0,
              medianMs: median(times)
            }))
          })
          worker.postMessage({
            type: "measure",
            id,
            batch,
            seq,
            minMs,
            minRuns: minRuns ?? 3,
            warmupRuns: warmupRuns ?? 1,
            gapMs: gapMs ?? 0
          })
        })
    }
  })
