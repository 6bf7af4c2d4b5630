/**
 * Scenario `layout`: worker layouts (workers x intra-op threads) compared on the real model, in
 * process, with the server's default batching configuration:
 *
 * 1. the calibration the server runs at start-up with `ADABATCH_WORKERS=auto` and
 *    `ADABATCH_THREADS=auto` (forced, in a temporary cache directory): what it measured, what it
 *    chose and why, how long it took;
 * 2. every candidate layout of this machine's usable cores (or `--layouts`), each its own model
 *    instance: closed-loop throughput on short, long and mixed inputs, and idle single-text
 *    latency, interleaved (layout A, layout B, ... per input and repeat).
 *
 * The report compares the chosen layout with the best measured one, per repeat.
 *
 * @since 0.1.0
 */
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Core from "../Core.js"
import type { Env } from "../Env.js"
import type { InputKind } from "../Inputs.js"

/**
 * One layout on one input set, over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayoutRun {
  readonly layout: string
  readonly workers: number
  readonly threads: number
  readonly input: InputKind
  readonly throughput: Array<number>
  readonly p50Ms: Array<number>
  readonly p99Ms: Array<number>
  readonly failures: Array<number>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayoutResult {
  readonly usableCores: number
  readonly concurrency: number
  readonly inputs: ReadonlyArray<InputKind>
  readonly layouts: ReadonlyArray<{ readonly workers: number; readonly threads: number }>
  readonly runs: Array<LayoutRun>
  /** Idle single-text latency per layout: every request's time, per repeat. */
  readonly idle: Array<{ readonly layout: string; readonly latenciesMs: Array<Array<number>> }>
  readonly idleGapMs: number
  /** The start-up calibration (`undefined` for the echo model). */
  readonly calibration:
    | {
      readonly chosen: string
      readonly wallMs: number
      readonly report: Core.LayoutReport
    }
    | undefined
}

const warmupMsFor = (env: Env) => Math.min(500, env.options.seconds * 1000)
const idleGapMs = 5
const inputs: ReadonlyArray<InputKind> = ["short", "long", "mix"]

const layoutsOf = (env: Env) => env.options.layouts ?? Core.LayoutChoice.candidates(Core.availableCores())

/**
 * Closed-loop callers: two full default batches (32 inputs) per worker of the layout with the most
 * workers (the smoke preset: 8 per worker, enough to check the plumbing).
 *
 * @since 0.1.0
 * @category utils
 */
export const concurrencyFor = (
  layouts: ReadonlyArray<{ readonly workers: number }>,
  preset: Env["options"]["preset"]
): number => {
  const perWorker = preset === "smoke" ? 8 : 64
  return Math.max(perWorker, perWorker * Math.max(...layouts.map((l) => l.workers)))
}

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number => {
  const n = layoutsOf(env).length
  return 5 + 2 * n +
    env.options.repeats * n * (inputs.length * (env.options.seconds + warmupMsFor(env) / 1000 + 0.3) + 1)
}

const calibrate = (env: Env) =>
  Effect.scoped(Effect.gen(function*() {
    const cacheDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-bench-layout-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(cacheDir, { recursive: true, force: true })))
    const t0 = performance.now()
    const model = yield* Core.modelFor({
      model: env.options.model,
      workers: "auto",
      intraOpNumThreads: "auto",
      recalibrate: true,
      cacheDir
    })
    const report = model.info.layout
    if (report === undefined) return undefined
    return {
      chosen: Core.LayoutChoice.label({ workers: model.info.workers, threads: model.info.intraOpNumThreads }),
      wallMs: performance.now() - t0,
      report
    }
  }))

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<LayoutResult, Core.ModelLoadError> =>
  Effect.scoped(Effect.gen(function*() {
    const layouts = layoutsOf(env)
    const concurrency = concurrencyFor(layouts, env.options.preset)
    env.progress.step("layout", "start-up calibration (workers and threads auto)", 5)
    const calibration = env.model.onnxPath === undefined ? undefined : yield* calibrate(env)
    const config = Core.ServerConfig.make({})
    const systems: Array<{ label: string; embedder: Core.EmbedderService }> = []
    for (const layout of layouts) {
      const label = Core.LayoutChoice.label(layout)
      env.progress.step("layout", `loading ${label}`, 2)
      const model = yield* Core.modelFor({
        model: env.options.model,
        workers: layout.workers,
        intraOpNumThreads: layout.threads
      })
      systems.push({ label, embedder: yield* Core.embedderFor({ ...config, workers: layout.workers }, model) })
    }
    const runs: Array<LayoutRun> = inputs.flatMap((input) =>
      layouts.map((l) => ({
        layout: Core.LayoutChoice.label(l),
        workers: l.workers,
        threads: l.threads,
        input,
        throughput: [],
        p50Ms: [],
        p99Ms: [],
        failures: []
      }))
    )
    const idle = systems.map((s) => ({ layout: s.label, latenciesMs: [] as Array<Array<number>> }))
    const idleText = env.idleText!.text
    for (let r = 0; r < env.options.repeats; r++) {
      for (const [k, system] of systems.entries()) {
        env.progress.step("layout", `${system.label}, idle latency, repeat ${r + 1}/${env.options.repeats}`, 1)
        const res = yield* Effect.promise(() =>
          Load.sequential({
            send: () => Effect.runPromise(Effect.as(system.embedder.embed([idleText]), "ok" as const)),
            count: env.options.idleRequests,
            gapMs: idleGapMs
          })
        )
        idle[k]!.latenciesMs.push(res.latenciesMs)
      }
      for (const input of inputs) {
        const texts = env.inputs![input].texts
        for (const system of systems) {
          env.progress.step(
            "layout",
            `${system.label}, ${input} inputs, repeat ${r + 1}/${env.options.repeats}`,
            env.options.seconds + warmupMsFor(env) / 1000 + 0.3
          )
          const res = yield* Effect.promise(() =>
            Load.closedLoop({
              send: (i) =>
                Effect.runPromise(
                  Effect.as(system.embedder.embed([texts[i % texts.length]!], { truncate: true }), "ok" as const)
                ),
              concurrency,
              durationMs: env.options.seconds * 1000,
              warmupMs: warmupMsFor(env)
            })
          )
          const row = runs.find((x) => x.input === input && x.layout === system.label)!
          const d = Stats.distribution(res.latenciesMs)
          row.throughput.push(res.throughput)
          row.p50Ms.push(d.p50)
          row.p99Ms.push(d.p99)
          row.failures.push(res.errors + res.rejected)
        }
      }
    }
    return {
      usableCores: Core.availableCores(),
      concurrency,
      inputs,
      layouts,
      runs,
      idle,
      idleGapMs,
      calibration
    }
  }))
