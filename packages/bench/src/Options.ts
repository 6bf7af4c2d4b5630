/**
 * Command-line options of `pnpm bench`, with the quick and full presets.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { parseArgs } from "node:util"
import { type InputKind, inputKinds } from "./Inputs.js"

/**
 * The scenarios, in the order they run.
 *
 * @since 0.1.0
 * @category constants
 */
export const scenarios = [
  "model",
  "transport",
  "engine",
  "original",
  "peer",
  "systems",
  "load",
  "memory",
  "layout",
  "replicas",
  "policy"
] as const

/**
 * A scenario name.
 *
 * @since 0.1.0
 * @category models
 */
export type Scenario = typeof scenarios[number]

/**
 * The scenarios of a run without `--scenario`: all but `replicas`, which needs HAProxy, and
 * `policy`, the batch-size policy simulator (several minutes); both run on request
 * (`--scenario replicas`, `--scenario policy`, or `all`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultScenarios: ReadonlyArray<Scenario> = scenarios.filter((s) => s !== "replicas" && s !== "policy")

/**
 * Scenario groups accepted by `--scenario`.
 *
 * @since 0.1.0
 * @category constants
 */
export const scenarioGroups: Readonly<Record<string, ReadonlyArray<Scenario>>> = {
  all: scenarios,
  default: defaultScenarios,
  ceilings: ["model", "transport", "engine"],
  http: ["transport", "original", "peer"]
}

/**
 * The systems compared in one run.
 *
 * @since 0.1.0
 * @category constants
 */
export const systemNames = ["adaptive", "fixed", "unbatched", "original", "tei", "dataloader"] as const

/**
 * A system name.
 *
 * @since 0.1.0
 * @category models
 */
export type SystemName = typeof systemNames[number]

/**
 * Everything a run is configured with.
 *
 * @since 0.1.0
 * @category models
 */
export interface BenchOptions {
  readonly preset: "quick" | "full" | "smoke"
  readonly scenarios: ReadonlyArray<Scenario>
  /** `"default"`, `"tiny"` or a model directory. */
  readonly model: string
  readonly workers: number | undefined
  readonly intraOpNumThreads: number | undefined
  /** Layouts of the layout scenario (default: the candidates of the usable cores). */
  readonly layouts: ReadonlyArray<{ readonly workers: number; readonly threads: number }> | undefined
  /** Sequence lengths of the model ceiling curve. */
  readonly seqs: ReadonlyArray<number>
  /** Batch sizes of the model ceiling curve. */
  readonly batches: ReadonlyArray<number>
  /** Input sets of the systems scenario. */
  readonly inputs: ReadonlyArray<InputKind>
  /** Input sets of the load scenario. */
  readonly loadInputs: ReadonlyArray<InputKind>
  readonly systems: ReadonlyArray<SystemName>
  /** Item caps of the fixed-policy variants (each `groupedWithin(cap, fixedWaitMs)`-style). */
  readonly fixedSizes: ReadonlyArray<number>
  readonly fixedWaitMs: number
  /** Offered load levels, % of measured capacity. */
  readonly loads: ReadonlyArray<number>
  /** Measured seconds per window. */
  readonly seconds: number
  /** Measured seconds per open-loop window of the load scenario. */
  readonly loadSeconds: number
  readonly repeats: number
  /** Single requests of the idle-latency test. */
  readonly idleRequests: number
  /** Single requests per system and repeat of the peer comparison's idle-latency test (its P99 needs more). */
  readonly peerIdleRequests: number
  readonly seed: number
  readonly out: string | undefined
  /** Also write docs/benchmarks.md and docs/benchmarks/*.svg. */
  readonly docs: boolean
  readonly progress: boolean
  readonly wrk: boolean
  readonly help: boolean
}

/**
 * The options could not be understood.
 *
 * @since 0.1.0
 * @category errors
 */
export class OptionsError extends Data.TaggedError("OptionsError")<{ readonly reason: string }> {
  override get message(): string {
    return `${this.reason} (see pnpm bench --help)`
  }
}

const presets: Readonly<
  Record<
    BenchOptions["preset"],
    Omit<
      BenchOptions,
      | "preset"
      | "scenarios"
      | "model"
      | "workers"
      | "intraOpNumThreads"
      | "layouts"
      | "seed"
      | "out"
      | "docs"
      | "progress"
      | "wrk"
      | "help"
    >
  >
> = {
  smoke: {
    seqs: [16],
    batches: [1, 8],
    inputs: ["short"],
    loadInputs: ["short"],
    systems: systemNames,
    fixedSizes: [32],
    fixedWaitMs: 5,
    loads: [50],
    seconds: 0.3,
    loadSeconds: 0.3,
    repeats: 1,
    idleRequests: 10,
    peerIdleRequests: 10
  },
  quick: {
    seqs: [16, 128],
    batches: [1, 4, 8, 16, 32],
    inputs: ["short"],
    loadInputs: ["short"],
    systems: systemNames,
    fixedSizes: [32],
    fixedWaitMs: 5,
    loads: [25, 75, 120],
    seconds: 1.2,
    loadSeconds: 1,
    repeats: 3,
    idleRequests: 50,
    peerIdleRequests: 200
  },
  full: {
    seqs: [16, 64, 128],
    batches: [1, 2, 4, 8, 16, 32, 64, 128],
    inputs: inputKinds,
    loadInputs: inputKinds,
    systems: systemNames,
    fixedSizes: [8, 32, 64],
    fixedWaitMs: 5,
    loads: [10, 50, 75, 90, 120],
    seconds: 3,
    loadSeconds: 1.2,
    repeats: 3,
    idleRequests: 200,
    peerIdleRequests: 1000
  }
}

/**
 * The help text.
 *
 * @since 0.1.0
 * @category constants
 */
export const help = `pnpm bench [options]          (also: pnpm bench -- [options])

Measures adabatch against its ceilings and against baseline batchers, all in one run, and writes
bench-results/<timestamp>/report.md, results.json (every raw sample) and SVG charts.

Presets:
  (none)               quick run, under 5 minutes on 2 cores
  --full               full run, under 30 minutes: every input set, load level and fixed variant
  --smoke              a few seconds with the tiny model (what the smoke test runs)

Selection:
  --scenario LIST      comma-separated, in run order: ${scenarios.join(", ")};
                       groups: ceilings (model,transport,engine), http (transport,original,peer),
                       default (what runs without --scenario: all but replicas and policy), all;
                       replicas needs HAProxy (apt-get install haproxy);
                       policy: adaptive batch size vs fixed caps on simulated cost curves,
                       1 and 4 workers, real time (about 7 minutes)
  --systems LIST       ${systemNames.join(", ")}
  --model NAME|DIR     default (MiniLM-L6-shaped, random weights), tiny, or a model directory
  --workers N          model worker threads (default: the model layer's default)
  --threads N          intra-op threads per worker (default: the model layer's default)
  --layouts LIST       workers x threads of the layout scenario, e.g. 1x2,2x1 (default: every layout
                       w x cores/w of the usable cores, as the start-up calibration measures them)
  --seq LIST           sequence lengths of the model ceiling curve (e.g. 16,128)
  --batches LIST       batch sizes of the model ceiling curve (e.g. 1,4,8,16,32,64)
  --inputs LIST        input sets of the systems comparison: short (~16 tokens), long (~128), mix (English text)
  --load-inputs LIST   input sets of the latency-vs-load curves (quick: short; full: all three)
  --fixed LIST         item caps of the fixed-policy variants (e.g. 8,32,64)
  --loads LIST         offered load, % of measured capacity (e.g. 10,50,90,120)

Timing:
  --seconds S          measured seconds per window (quick 1.2, full 3)
  --load-seconds S     measured seconds per open-loop window of the load scenario (quick 1, full 1.5)
  --repeats N          interleaved repeats; ratios are reported as min / median / max (quick 3, full 3)
  --idle N             single requests in the idle-latency tests (default: original 50, peer 200 per
                       system and repeat; full: 200 and 1000)

Output:
  --out DIR            output directory (default bench-results/<timestamp>)
  --docs               also write docs/benchmarks.md and docs/benchmarks/*.svg (pnpm bench:docs)
  --from FILE          do not run: re-render the report (and with --docs, docs/benchmarks.md) from a results.json
  --seed N             seed of the arrival schedules and input order (default 1)
  --no-progress        no progress bar
  --no-wrk             skip the wrk cross-check even if wrk is installed
  -h, --help           this text
`

const list = (name: string, raw: string | undefined): Array<string> | undefined => {
  if (raw === undefined) return undefined
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  if (items.length === 0) throw new OptionsError({ reason: `--${name} needs at least one value` })
  return items
}

const numbers = (name: string, raw: string | undefined, min: number): Array<number> | undefined =>
  list(name, raw)?.map((s) => {
    const n = Number(s)
    if (!Number.isFinite(n) || n < min) {
      throw new OptionsError({ reason: `--${name}: ${JSON.stringify(s)} is not a number >= ${min}` })
    }
    return n
  })

const oneOf = <A extends string>(name: string, raw: string | undefined, allowed: ReadonlyArray<A>) =>
  list(name, raw)?.map((s) => {
    if (!(allowed as ReadonlyArray<string>).includes(s)) {
      throw new OptionsError({
        reason: `--${name}: unknown ${JSON.stringify(s)}; expected one of ${allowed.join(", ")}`
      })
    }
    return s as A
  })

const integer = (name: string, raw: string | undefined, min: number): number | undefined => {
  const n = numbers(name, raw, min)?.[0]
  if (n !== undefined && !Number.isInteger(n)) throw new OptionsError({ reason: `--${name} must be an integer` })
  return n
}

const layout = (text: string): { readonly workers: number; readonly threads: number } => {
  const match = /^(\d+)x(\d+)$/.exec(text)
  const workers = Number(match?.[1])
  const threads = Number(match?.[2])
  if (match === null || workers < 1 || threads < 1) {
    throw new OptionsError({ reason: `--layouts: ${JSON.stringify(text)} is not <workers>x<threads>, e.g. 2x1` })
  }
  return { workers, threads }
}

/**
 * Parses command-line arguments (without the node and script paths). A `--` anywhere is ignored,
 * so `pnpm bench -- --full` and `pnpm bench --full` mean the same.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (argv: ReadonlyArray<string>): BenchOptions => {
  let values
  try {
    values = parseArgs({
      args: argv.filter((a) => a !== "--"),
      strict: true,
      allowPositionals: false,
      options: {
        full: { type: "boolean" },
        smoke: { type: "boolean" },
        scenario: { type: "string" },
        systems: { type: "string" },
        model: { type: "string" },
        workers: { type: "string" },
        threads: { type: "string" },
        layouts: { type: "string" },
        seq: { type: "string" },
        batches: { type: "string" },
        inputs: { type: "string" },
        "load-inputs": { type: "string" },
        fixed: { type: "string" },
        loads: { type: "string" },
        seconds: { type: "string" },
        "load-seconds": { type: "string" },
        repeats: { type: "string" },
        idle: { type: "string" },
        out: { type: "string" },
        docs: { type: "boolean" },
        seed: { type: "string" },
        "no-progress": { type: "boolean" },
        "no-wrk": { type: "boolean" },
        help: { type: "boolean", short: "h" }
      }
    }).values
  } catch (e) {
    throw new OptionsError({ reason: e instanceof Error ? e.message : String(e) })
  }
  if (values.full === true && values.smoke === true) {
    throw new OptionsError({ reason: "--full and --smoke exclude each other" })
  }
  const preset: BenchOptions["preset"] = values.full === true ? "full" : values.smoke === true ? "smoke" : "quick"
  const base = presets[preset]
  const scenarioList = list("scenario", values.scenario)
  let selected: Array<Scenario> = [...defaultScenarios]
  if (scenarioList !== undefined) {
    const wanted = new Set<Scenario>()
    for (const s of scenarioList) {
      const group = scenarioGroups[s]
      if (group !== undefined) { for (const g of group) wanted.add(g) }
      else if ((scenarios as ReadonlyArray<string>).includes(s)) wanted.add(s as Scenario)
      else {
        throw new OptionsError({
          reason: `--scenario: unknown ${JSON.stringify(s)}; expected ${
            [...scenarios, ...Object.keys(scenarioGroups)].join(", ")
          }`
        })
      }
    }
    selected = scenarios.filter((s) => wanted.has(s))
  }
  const seconds = numbers("seconds", values.seconds, 0.05)?.[0] ?? base.seconds
  const model = values.model ?? (preset === "smoke" ? "tiny" : "default")
  return {
    preset,
    scenarios: selected,
    model,
    workers: integer("workers", values.workers, 1),
    intraOpNumThreads: integer("threads", values.threads, 1),
    layouts: list("layouts", values.layouts)?.map(layout),
    seqs: numbers("seq", values.seq, 1) ?? base.seqs,
    batches: numbers("batches", values.batches, 1) ?? base.batches,
    inputs: oneOf("inputs", values.inputs, inputKinds) ?? base.inputs,
    loadInputs: oneOf("load-inputs", values["load-inputs"], inputKinds) ?? base.loadInputs,
    systems: oneOf("systems", values.systems, systemNames) ?? base.systems,
    fixedSizes: numbers("fixed", values.fixed, 1) ?? base.fixedSizes,
    fixedWaitMs: base.fixedWaitMs,
    loads: numbers("loads", values.loads, 1) ?? base.loads,
    seconds,
    loadSeconds: numbers("load-seconds", values["load-seconds"], 0.05)?.[0] ??
      (values.seconds === undefined ? base.loadSeconds : seconds),
    repeats: integer("repeats", values.repeats, 1) ?? base.repeats,
    idleRequests: integer("idle", values.idle, 1) ?? base.idleRequests,
    peerIdleRequests: integer("idle", values.idle, 1) ?? base.peerIdleRequests,
    seed: integer("seed", values.seed, 0) ?? 1,
    out: values.out,
    docs: values.docs === true,
    progress: values["no-progress"] !== true,
    wrk: values["no-wrk"] !== true,
    help: values.help === true
  }
}
