/**
 * Scenario `original`: the original system's four experiments, reproduced over HTTP against the
 * real adabatch server (its defaults, the model under test) running in a child process, with the
 * original figures printed next to ours:
 *
 * 1. throughput for (100 requests, 10 concurrent), (200, 20), (500, 50), closed loop, short
 *    English texts (~16 tokens, one per request);
 * 2. single-request latency at an idle server, next to one raw batch-1 `session.run` of the same
 *    text length measured right before in the same repeat (and the same in process, through the
 *    `Embedder`, without HTTP);
 * 3. batch efficiency for a burst of 200 concurrent requests, read from the server's `/metrics`
 *    (`adabatch_batch_size`);
 * 4. the queue test: 500 and 5,000 requests sent at once (rejections and losses).
 *
 * @since 0.1.0
 */
import * as HttpClient from "@adabatch/testkit/HttpClient"
import * as HttpSend from "@adabatch/testkit/HttpSend"
import * as Load from "@adabatch/testkit/Load"
import * as Prometheus from "@adabatch/testkit/Prometheus"
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import * as ChildServer from "../ChildServer.js"
import * as Core from "../Core.js"
import type { Env } from "../Env.js"
import type { ModelCeilingError } from "../ModelCeiling.js"
import { serverEntry } from "./TransportScenario.js"

/**
 * The original system's published figures.
 *
 * @since 0.1.0
 * @category constants
 */
export const originalFigures = {
  throughput: [
    { requests: 100, concurrency: 10, throughput: 132.95, meanLatencyMs: 7.52, totalSeconds: 0.75 },
    { requests: 200, concurrency: 20, throughput: 281.17, meanLatencyMs: 3.56, totalSeconds: 0.71 },
    { requests: 500, concurrency: 50, throughput: 3107.89, meanLatencyMs: 0.32, totalSeconds: 0.16 }
  ],
  idle: { mean: 573.78, p50: 573.51, p95: 582.96, p99: 587.32, min: 563.08, max: 587.32, stdDev: 5.08 },
  burst: { requests: 200, batches: 1, meanBatchSize: 200, maxBatchSize: 200, minBatchSize: 200 },
  queue: { note: "queue full (320 slots) at 500 requests" }
} as const

/**
 * One throughput experiment over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface ThroughputResult {
  readonly requests: number
  readonly concurrency: number
  readonly throughput: Array<number>
  /** Mean per-request latency (ms), per repeat. */
  readonly meanLatencyMs: Array<number>
  /** Total time / requests (ms): what the original called "mean latency". */
  readonly timePerRequestMs: Array<number>
  readonly totalSeconds: Array<number>
  readonly failures: Array<number>
  readonly generatorCpuShare: Array<number>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface OriginalResult {
  readonly serverConfig: Record<string, unknown>
  readonly throughput: Array<ThroughputResult>
  readonly idle: {
    readonly text: string
    readonly tokens: number
    /** The idle pause before each request and each raw run (ms). */
    readonly gapMs: number
    /** Every HTTP single-request latency (ms), per repeat. */
    readonly httpMs: Array<Array<number>>
    /** Every in-process `Embedder.embed` latency (ms), per repeat. */
    readonly inProcessMs: Array<Array<number>>
    /**
     * Every raw batch-1 `session.run` time at the same length (ms), each after the same idle pause as
     * the requests, per repeat (empty for echo): the baseline of the idle-latency figures.
     */
    readonly rawMs: Array<Array<number>>
    /** The same back to back, with no pause (ms), per repeat. */
    readonly rawBackToBackMs: Array<Array<number>>
  }
  readonly burst: Array<{
    readonly ok: number
    readonly batches: number
    readonly meanBatchSize: number
    readonly minBatchSizeAtMost: number
    readonly maxBatchSizeBetween: readonly [number, number]
  }>
  readonly queue: Array<{
    readonly requests: number
    readonly ok: number
    readonly rejected: number
    readonly lost: number
    readonly seconds: number
  }>
}

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number => env.options.repeats * 6 + 25

const gapMs = 5

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  env: Env
): Effect.Effect<OriginalResult, ChildServer.ChildServerError | ModelCeilingError | Core.ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const { repeats } = env.options
    const inputs = env.inputs!
    const idleText = env.idleText!
    const serverConfig = {
      model: env.options.model,
      workers: env.workers,
      threads: env.intraOpNumThreads
    }
    env.progress.step("original", "starting the adabatch server", 5)
    const server = yield* ChildServer.start({
      name: "adabatch",
      entry: serverEntry("adabatch.mjs"),
      config: serverConfig
    })
    const pool = HttpClient.makePool("127.0.0.1", server.port)
    yield* Effect.addFinalizer(() => Effect.sync(() => pool.close()))
    yield* Effect.promise(() => pool.warm(50))
    const shortSend = HttpSend.make(pool, HttpSend.embedRequests(server.port, "/embed", inputs.short.texts))
    const idleSend = HttpSend.make(pool, HttpSend.embedRequests(server.port, "/embed", [idleText.text]))
    // warm up: JIT, the model's first runs, the adaptive policies' first decisions
    yield* Effect.promise(() => Load.closedLoop({ send: shortSend, concurrency: 20, total: 200 }))

    // an in-process Embedder with the server's defaults, on the shared in-process model
    const embedder = yield* Core.embedderFor(Core.ServerConfig.make({ workers: env.workers }), env.inProcess!)

    const throughput: Array<ThroughputResult> = originalFigures.throughput.map((f) => ({
      requests: f.requests,
      concurrency: f.concurrency,
      throughput: [],
      meanLatencyMs: [],
      timePerRequestMs: [],
      totalSeconds: [],
      failures: [],
      generatorCpuShare: []
    }))
    const idle: OriginalResult["idle"] = {
      text: idleText.text,
      tokens: idleText.tokens,
      gapMs,
      httpMs: [],
      inProcessMs: [],
      rawMs: [],
      rawBackToBackMs: []
    }
    const burst: Array<OriginalResult["burst"][number]> = []
    for (let r = 0; r < repeats; r++) {
      for (const t of throughput) {
        env.progress.step("original", `throughput ${t.requests} x ${t.concurrency}, repeat ${r + 1}/${repeats}`, 1.5)
        const res = yield* Effect.promise(() =>
          Load.closedLoop({ send: shortSend, concurrency: t.concurrency, total: t.requests })
        )
        t.throughput.push(res.throughput)
        t.meanLatencyMs.push(Stats.mean(res.latenciesMs))
        t.timePerRequestMs.push(res.elapsedMs / t.requests)
        t.totalSeconds.push(res.elapsedMs / 1000)
        t.failures.push(res.errors + res.rejected)
        t.generatorCpuShare.push(res.generatorCpuShare)
      }
      env.progress.step("original", `idle latency, repeat ${r + 1}/${repeats}`, 2)
      const ceiling = env.ceiling
      if (ceiling !== undefined) {
        const raw = (pause: number) =>
          ceiling.measure({
            batch: 1,
            seq: idleText.tokens,
            minMs: 0,
            minRuns: env.options.idleRequests,
            warmupRuns: 3,
            gapMs: pause
          })
        idle.rawMs.push([...(yield* raw(gapMs)).timesMs])
        idle.rawBackToBackMs.push([...(yield* raw(0)).timesMs])
      }
      const http = yield* Effect.promise(() =>
        Load.sequential({ send: idleSend, count: env.options.idleRequests, gapMs })
      )
      idle.httpMs.push(http.latenciesMs)
      const inProcess = yield* Effect.promise(() =>
        Load.sequential({
          send: () => Effect.runPromise(Effect.as(embedder.embed([idleText.text]), "ok" as const)),
          count: env.options.idleRequests,
          gapMs
        })
      )
      idle.inProcessMs.push(inProcess.latenciesMs)

      env.progress.step("original", `burst of 200, repeat ${r + 1}/${repeats}`, 1.5)
      yield* Effect.promise(() => pool.warm(200))
      const before = yield* Effect.promise(() => HttpSend.get(server.port, "/metrics"))
      const res = yield* Effect.promise(() => Load.closedLoop({ send: shortSend, concurrency: 200, total: 200 }))
      const after = yield* Effect.promise(() => HttpSend.get(server.port, "/metrics"))
      const delta = Prometheus.histogramDelta(
        Prometheus.histogram(Prometheus.parse(before.text), "adabatch_batch_size"),
        Prometheus.histogram(Prometheus.parse(after.text), "adabatch_batch_size")
      )
      burst.push({
        ok: res.ok,
        batches: delta.count,
        meanBatchSize: delta.mean,
        minBatchSizeAtMost: delta.minAtMost,
        maxBatchSizeBetween: delta.maxBetween
      })
    }
    const queue: Array<OriginalResult["queue"][number]> = []
    for (const requests of [500, 5000]) {
      env.progress.step("original", `queue test: ${requests} requests at once`, requests / 400)
      yield* Effect.promise(() => pool.warm(requests))
      const res = yield* Effect.promise(() =>
        Load.closedLoop({ send: shortSend, concurrency: requests, total: requests })
      )
      queue.push({
        requests,
        ok: res.ok,
        rejected: res.rejected,
        lost: res.errors,
        seconds: res.elapsedMs / 1000
      })
    }
    return { serverConfig, throughput, idle, burst, queue }
  }))
