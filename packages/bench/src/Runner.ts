/**
 * Runs the selected scenarios in order, collects `results.json`, and writes the report and its
 * charts. A scenario that fails is recorded in the results and the run goes on.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Charts from "./Charts.js"
import * as Env from "./Env.js"
import * as Machine from "./Machine.js"
import type { BenchOptions, Scenario } from "./Options.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import type { Results } from "./Results.js"
import * as EngineScenario from "./scenarios/EngineScenario.js"
import * as LayoutScenario from "./scenarios/LayoutScenario.js"
import * as LoadScenario from "./scenarios/LoadScenario.js"
import * as MemoryScenario from "./scenarios/MemoryScenario.js"
import * as ModelScenario from "./scenarios/ModelScenario.js"
import * as OriginalScenario from "./scenarios/OriginalScenario.js"
import * as PeerScenario from "./scenarios/PeerScenario.js"
import * as PolicyScenario from "./scenarios/PolicyScenario.js"
import * as ReplicasScenario from "./scenarios/ReplicasScenario.js"
import * as SystemsScenario from "./scenarios/SystemsScenario.js"
import * as TransportScenario from "./scenarios/TransportScenario.js"

/**
 * The repository root (from this file's location, in `src/` or `dist/` alike).
 *
 * @since 0.1.0
 * @category utils
 */
export const repositoryRoot = (): string => Path.resolve(new URL("../../../", import.meta.url).pathname)

const timestamp = (d: Date) => d.toISOString().replace(/[:]/g, "-").replace(/\..+$/, "")

const planned = (env: Env.Env, scenario: Scenario): number => {
  switch (scenario) {
    case "model":
      return ModelScenario.plannedSeconds(env)
    case "transport":
      return TransportScenario.plannedSeconds(env)
    case "engine":
      return EngineScenario.plannedSeconds(env)
    case "original":
      return OriginalScenario.plannedSeconds(env)
    case "peer":
      return PeerScenario.plannedSeconds(env)
    case "systems":
      return SystemsScenario.plannedSeconds(env)
    case "load":
      return LoadScenario.plannedSeconds(env)
    case "memory":
      return MemoryScenario.plannedSeconds(env)
    case "layout":
      return LayoutScenario.plannedSeconds(env)
    case "replicas":
      return ReplicasScenario.plannedSeconds(env)
    case "policy":
      return PolicyScenario.plannedSeconds(env)
  }
}

const message = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : String(e)
}

/**
 * Runs the benchmark and returns its results (nothing is written).
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (options: BenchOptions, progress: Progress.Progress): Effect.Effect<Results, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const started = new Date()
    const machine = Machine.describe(yield* Machine.busyShare(1000))
    progress.plan(5)
    const env = yield* Env.make(options, progress)
    for (const s of options.scenarios) progress.plan(planned(env, s))
    const scenarios: Results["scenarios"] = {}
    const failures: Array<{ scenario: string; message: string }> = []
    const attempt = <A, E>(scenario: Scenario, effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(effect)
        if (Exit.isSuccess(exit)) return exit.value
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
        failures.push({ scenario, message: message(exit.cause) })
        progress.log(`scenario ${scenario} failed: ${message(exit.cause)}`)
        return undefined
      })
    for (const scenario of options.scenarios) {
      switch (scenario) {
        case "model":
          scenarios.model = yield* attempt(scenario, ModelScenario.run(env))
          break
        case "transport":
          scenarios.transport = yield* attempt(scenario, TransportScenario.run(env))
          break
        case "engine":
          scenarios.engine = yield* attempt(scenario, EngineScenario.run(env))
          break
        case "original":
          scenarios.original = yield* attempt(scenario, OriginalScenario.run(env))
          break
        case "peer":
          scenarios.peer = yield* attempt(scenario, PeerScenario.run(env))
          break
        case "systems":
          scenarios.systems = yield* attempt(scenario, SystemsScenario.run(env, scenarios.model))
          break
        case "load":
          scenarios.load = yield* attempt(scenario, LoadScenario.run(env, scenarios.systems))
          break
        case "memory":
          scenarios.memory = yield* attempt(scenario, MemoryScenario.run(env))
          break
        case "layout":
          scenarios.layout = yield* attempt(scenario, LayoutScenario.run(env))
          break
        case "replicas":
          scenarios.replicas = yield* attempt(scenario, ReplicasScenario.run(env))
          break
        case "policy":
          scenarios.policy = yield* attempt(scenario, PolicyScenario.run(env))
          break
      }
    }
    const finished = new Date()
    return {
      version: 1,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: (finished.getTime() - started.getTime()) / 1000,
      options,
      machine,
      loadAverageEnd: Os.loadavg().map((x) => Math.round(x * 100) / 100),
      model: {
        name: env.model.name,
        dir: env.model.dir,
        onnxPath: env.model.onnxPath,
        workers: env.workers,
        intraOpNumThreads: env.intraOpNumThreads
      },
      inputs: env.inputs === undefined ? [] : Object.values(env.inputs).map((i) => ({
        kind: i.kind,
        count: i.texts.length,
        meanTokens: i.meanTokens,
        minTokens: i.minTokens,
        maxTokens: i.maxTokens
      })),
      scenarios,
      failures
    } satisfies Results
  }))

/**
 * Writes `report.md` and the charts for `results` into `dir` (charts in `dir/chartSubdir`), and
 * returns the report path.
 *
 * @since 0.1.0
 * @category output
 */
export const writeReport = async (
  results: Results,
  options: { readonly dir: string; readonly file: string; readonly chartSubdir: string }
): Promise<string> => {
  const report = Report.make(results, options.chartSubdir === "" ? "." : options.chartSubdir)
  const chartDir = Path.join(options.dir, options.chartSubdir)
  Fs.mkdirSync(chartDir, { recursive: true })
  for (const c of report.charts) {
    Fs.writeFileSync(Path.join(chartDir, c.file), await Charts.toSvg(c.spec))
  }
  const file = Path.join(options.dir, options.file)
  Fs.writeFileSync(file, report.markdown)
  return file
}

/**
 * Writes a run: `results.json`, `report.md` and the SVG charts into `out` (default
 * `bench-results/<timestamp>`), and also `docs/benchmarks.md` with `docs/benchmarks/*.svg` when
 * `options.docs` is set. Returns the written report paths.
 *
 * @since 0.1.0
 * @category output
 */
export const writeAll = async (results: Results): Promise<Array<string>> => {
  const root = repositoryRoot()
  const out = results.options.out ?? Path.join(root, "bench-results", timestamp(new Date(results.startedAt)))
  Fs.mkdirSync(out, { recursive: true })
  Fs.writeFileSync(Path.join(out, "results.json"), JSON.stringify(results))
  const written = [await writeReport(results, { dir: out, file: "report.md", chartSubdir: "" })]
  if (results.options.docs) {
    written.push(
      await writeReport(results, { dir: Path.join(root, "docs"), file: "benchmarks.md", chartSubdir: "benchmarks" })
    )
  }
  return written
}

/**
 * Runs, writes and prints where the report is: the CLI's whole job.
 *
 * @since 0.1.0
 * @category constructors
 */
export const main = (
  options: BenchOptions
): Effect.Effect<{ readonly results: Results; readonly written: Array<string> }, unknown> =>
  Effect.gen(function*() {
    const progress = Progress.make({ enabled: options.progress })
    const results = yield* run(options, progress).pipe(Effect.ensuring(Effect.sync(() => progress.done())))
    const written = yield* Effect.promise(() => writeAll(results))
    return { results, written }
  })

/**
 * Reads a `results.json` back (JSON has no `NaN`: the `null`s it wrote for windows that measured
 * nothing become `NaN` again).
 *
 * @since 0.1.0
 * @category output
 */
export const readResults = (file: string): Results =>
  JSON.parse(Fs.readFileSync(file, "utf8"), (_key, value: unknown) => (value === null ? Number.NaN : value)) as Results
