/**
 * Scenario `memory`: memory and GC over a sustained closed-loop run (64 callers, the realistic
 * mix when the run includes it, else its first input set; in process, the adaptive system) with input-buffer reuse on (the default) and off, interleaved:
 *
 * - RSS and V8 heap, sampled every 100 ms;
 * - JavaScript heap bytes allocated per request, from V8's GC profiler (bytes allocated between
 *   collections, summed), and int64 input-tensor bytes allocated per request, from the model's
 *   `adabatch_model_input_buffer_allocated_bytes_total` counter;
 * - GC pause time per 1,000 requests, and collections per 1,000 requests.
 *
 * The original system aimed for -30 % allocation and -50 % GC pressure: reuse is reported against
 * the no-reuse variant.
 *
 * @since 0.1.0
 */
import * as Load from "@adabatch/testkit/Load"
import * as Prometheus from "@adabatch/testkit/Prometheus"
import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import * as V8 from "node:v8"
import * as Core from "../Core.js"
import type { Env } from "../Env.js"
import type { InputKind } from "../Inputs.js"

/**
 * One variant over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryVariant {
  readonly name: "reuse" | "no-reuse"
  readonly requests: Array<number>
  readonly throughput: Array<number>
  readonly heapBytesPerRequest: Array<number>
  readonly inputBufferBytesPerRequest: Array<number>
  /** (heap + input buffer) bytes per request. */
  readonly allocatedBytesPerRequest: Array<number>
  readonly gcPauseMsPer1000: Array<number>
  readonly gcCountPer1000: Array<number>
  /** Samples of the first repeat: ms since start, RSS and heap used (MiB). */
  readonly series: Array<{ readonly t: number; readonly rssMiB: number; readonly heapMiB: number }>
  readonly maxRssMiB: Array<number>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryResult {
  readonly concurrency: number
  readonly input: InputKind
  readonly seconds: number
  readonly variants: Array<MemoryVariant>
}

const concurrency = 64
const MiB = 1024 * 1024

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number => 2 * env.options.repeats * (windowSeconds(env) + 0.5) + 3

const windowSeconds = (env: Env) => Math.max(3, env.options.seconds * 2.5)

const inputBufferBytes = Effect.map(
  PrometheusMetrics.format(),
  (text) => Prometheus.counter(Prometheus.parse(text), "adabatch_model_input_buffer_allocated_bytes_total")
)

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<MemoryResult, Core.ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const input: InputKind = env.options.inputs.includes("mix") ? "mix" : env.options.inputs[0] ?? "short"
    const texts = env.inputs![input].texts
    env.progress.step("memory", "loading the no-reuse model", 3)
    const noReuseModel = yield* Core.modelFor({
      model: env.options.model,
      workers: env.workers,
      intraOpNumThreads: env.intraOpNumThreads,
      reuseInputBuffers: false
    })
    const config = Core.ServerConfig.make({ workers: env.workers })
    const embedders = {
      reuse: yield* Core.embedderFor(config, env.inProcess!),
      "no-reuse": yield* Core.embedderFor(config, noReuseModel)
    }
    const variants: Array<MemoryVariant> = (["reuse", "no-reuse"] as const).map((name) => ({
      name,
      requests: [],
      throughput: [],
      heapBytesPerRequest: [],
      inputBufferBytesPerRequest: [],
      allocatedBytesPerRequest: [],
      gcPauseMsPer1000: [],
      gcCountPer1000: [],
      series: [],
      maxRssMiB: []
    }))
    for (let r = 0; r < env.options.repeats; r++) {
      for (const v of variants) {
        const embedder = embedders[v.name]
        env.progress.step("memory", `${v.name}, repeat ${r + 1}/${env.options.repeats}`, windowSeconds(env) + 0.5)
        const send: Load.Send = (i) =>
          Effect.runPromise(Effect.as(embedder.embed([texts[i % texts.length]!]), "ok" as const))
        // warm-up outside the measurement
        yield* Effect.promise(() => Load.closedLoop({ send, concurrency, durationMs: 400 }))
        const bufferBytes0 = yield* inputBufferBytes
        const profiler = new V8.GCProfiler()
        const heap0 = V8.getHeapStatistics().used_heap_size
        const series: Array<MemoryVariant["series"][number]> = []
        const t0 = performance.now()
        let maxRss = 0
        const sample = () => {
          const m = process.memoryUsage()
          maxRss = Math.max(maxRss, m.rss)
          if (r === 0) {
            series.push({ t: Math.round(performance.now() - t0), rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB })
          }
        }
        const timer = setInterval(sample, 100)
        profiler.start()
        const res = yield* Effect.promise(() =>
          Load.closedLoop({ send, concurrency, durationMs: windowSeconds(env) * 1000 })
        )
        const profile = profiler.stop()
        clearInterval(timer)
        sample()
        const heap1 = V8.getHeapStatistics().used_heap_size
        const bufferBytes1 = yield* inputBufferBytes
        // bytes allocated = growth of the used heap between collections, summed
        let allocated = 0
        let last = heap0
        let pauseUs = 0
        for (const s of profile.statistics) {
          allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - last)
          last = s.afterGC.heapStatistics.usedHeapSize
          pauseUs += s.cost
        }
        allocated += Math.max(0, heap1 - last)
        const n = Math.max(1, res.ok + res.errors + res.rejected)
        const bufferBytes = bufferBytes1 - bufferBytes0
        v.requests.push(n)
        v.throughput.push(res.throughput)
        v.heapBytesPerRequest.push(allocated / n)
        v.inputBufferBytesPerRequest.push(bufferBytes / n)
        v.allocatedBytesPerRequest.push((allocated + bufferBytes) / n)
        v.gcPauseMsPer1000.push((pauseUs / 1000 / n) * 1000)
        v.gcCountPer1000.push((profile.statistics.length / n) * 1000)
        v.maxRssMiB.push(maxRss / MiB)
        if (r === 0) v.series.push(...series)
      }
    }
    return { concurrency, input, seconds: windowSeconds(env), variants }
  }))
