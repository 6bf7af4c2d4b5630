/**
 * Scenario `peer`: adabatch against what a Node user would run instead: transformers.js
 * (`@huggingface/transformers`, on the same onnxruntime-node) behind a plain `node:http` handler,
 * one `pipeline("feature-extraction")` call per request, no batching (`servers/peer.mjs`). Both
 * servers run in their own child process, on the same model directory, and get the same requests
 * over HTTP/1.1 keep-alive; every measurement alternates between them within each repeat:
 *
 * 1. idle latency: one request at a time with an idle pause before each (P50, P99);
 * 2. closed-loop throughput: 50 clients on short texts, 16 on long ones (and 16 on the mixed set
 *    when the open loop uses it);
 * 3. open loop: Poisson arrivals at shares of the **peer's** closed-loop capacity, the same
 *    schedule for both, latency from the planned send time.
 *
 * Every request asks adabatch to truncate over-long texts (`truncate: true`), as transformers.js
 * does by default. Before measuring, both servers embed the same texts and the largest difference
 * between their vectors is recorded: float rounding (~1e-7) for texts within the model's maximum
 * length; a truncated text differs more, since transformers.js 4.3.1 cuts its final `[SEP]` token
 * where adabatch keeps it (only with the 128-token tiny model: the bench's texts fit the default
 * model's 512).
 *
 * @since 0.1.0
 */
import * as Arrivals from "@adabatch/testkit/Arrivals"
import * as HttpClient from "@adabatch/testkit/HttpClient"
import * as HttpSend from "@adabatch/testkit/HttpSend"
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Data, Effect, type Scope } from "effect"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import * as ChildServer from "../ChildServer.js"
import type { Env } from "../Env.js"
import type { InputKind } from "../Inputs.js"
import { serverEntry } from "./TransportScenario.js"

/**
 * The two systems, in the order they are first measured.
 *
 * @since 0.1.0
 * @category constants
 */
export const peerSystems = ["adabatch", "peer"] as const

/**
 * One of {@link peerSystems}.
 *
 * @since 0.1.0
 * @category models
 */
export type PeerSystem = typeof peerSystems[number]

/**
 * Closed-loop clients per input set.
 *
 * @since 0.1.0
 * @category constants
 */
export const closedConcurrency: Readonly<Record<InputKind, number>> = { short: 50, long: 16, mix: 16 }

/**
 * One system's closed loop on one input set, over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerClosedRun {
  readonly system: PeerSystem
  readonly input: InputKind
  readonly concurrency: number
  readonly throughput: Array<number>
  readonly p50Ms: Array<number>
  readonly p99Ms: Array<number>
  readonly failures: Array<number>
  /** The server process's CPU time over the window, as a share of one core. */
  readonly serverCpuShare: Array<number>
}

/**
 * One open-loop window.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerOpenWindow {
  readonly repeat: number
  readonly offered: number
  readonly throughput: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly failures: number
  readonly counted: number
  readonly lagP99Ms: number
}

/**
 * One system at one load level on one input set.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerOpenPoint {
  readonly system: PeerSystem
  readonly input: InputKind
  /** % of the peer's closed-loop capacity on this input set. */
  readonly level: number
  readonly windows: Array<PeerOpenWindow>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerResult {
  readonly adabatchConfig: Record<string, unknown>
  /** e.g. `@huggingface/transformers 4.3.1`. */
  readonly peerLibrary: string
  /** Largest |difference| between the two servers' vectors for the same texts. */
  readonly vectorCheck: { readonly texts: number; readonly maxAbsDiff: number }
  readonly idle: {
    readonly text: string
    readonly tokens: number
    readonly gapMs: number
    /** Every latency (ms), per system, per repeat. */
    readonly ms: Record<PeerSystem, Array<Array<number>>>
  }
  readonly closed: Array<PeerClosedRun>
  /** The peer's closed-loop capacity per input set (median over repeats): 100 % of the open loop. */
  readonly capacity: Array<{ readonly input: InputKind; readonly requestsPerSecond: number }>
  readonly open: Array<PeerOpenPoint>
}

const gapMs = 5
const warmupMs = 500
/** transformers.js truncates to the model's maximum; adabatch does when asked (the peer ignores it). */
const truncating = { truncate: true } as const

/**
 * The idle-latency requests per system and repeat.
 *
 * @since 0.1.0
 * @category utils
 */
export const idleCount = (env: Env): number => env.options.peerIdleRequests

/** Input sets of the closed loop: short and long, and those of the open loop. */
const closedInputs = (
  env: Env
): Array<InputKind> => [...new Set<InputKind>(["short", "long", ...env.options.loadInputs])]

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number => {
  const { loadInputs, loadSeconds, loads, repeats, seconds } = env.options
  return 15 +
    repeats * 2 * (idleCount(env) * (gapMs + 6) / 1000 + closedInputs(env).length * (seconds + warmupMs / 1000 + 0.3)) +
    repeats * 2 * loadInputs.length * loads.length * (loadSeconds * 1.25 + 0.5)
}

/**
 * The installed transformers.js version.
 *
 * @since 0.1.0
 * @category utils
 */
export const peerLibrary = (): string => {
  try {
    const require = createRequire(import.meta.url)
    let dir = Path.dirname(require.resolve("@huggingface/transformers"))
    while (!Fs.existsSync(Path.join(dir, "package.json"))) dir = Path.dirname(dir)
    const pkg = JSON.parse(Fs.readFileSync(Path.join(dir, "package.json"), "utf8")) as { version?: string }
    return `@huggingface/transformers ${pkg.version ?? "?"}`
  } catch {
    return "@huggingface/transformers"
  }
}

/** A started server with its connection pool and request encoder. */
interface Live {
  readonly system: PeerSystem
  readonly server: ChildServer.ChildServer
  readonly pool: HttpClient.Pool
  readonly sendTexts: (texts: ReadonlyArray<string>) => Load.Send
}

const startLive = (
  system: PeerSystem,
  entry: string,
  config: unknown
): Effect.Effect<Live, ChildServer.ChildServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* ChildServer.start({ name: system, entry: serverEntry(entry), config })
    const pool = HttpClient.makePool("127.0.0.1", server.port)
    yield* Effect.addFinalizer(() => Effect.sync(() => pool.close()))
    yield* Effect.promise(() => pool.warm(Math.max(...Object.values(closedConcurrency))))
    const cache = new Map<ReadonlyArray<string>, Load.Send>()
    const sendTexts = (texts: ReadonlyArray<string>) => {
      let send = cache.get(texts)
      if (send === undefined) {
        send = HttpSend.make(pool, HttpSend.embedRequests(server.port, "/embed", texts, truncating))
        cache.set(texts, send)
      }
      return send
    }
    return { system, server, pool, sendTexts }
  })

/** The order of the two systems in repeat `r`: alternating, so neither always goes first. */
const ordered = (live: ReadonlyArray<Live>, r: number): ReadonlyArray<Live> => r % 2 === 0 ? live : [...live].reverse()

/**
 * The largest |difference| between the vectors both servers return for `texts` (one request each).
 *
 * @since 0.1.0
 * @category utils
 */
export const compareVectors = async (
  ports: readonly [number, number],
  texts: ReadonlyArray<string>
): Promise<number> => {
  let worst = 0
  for (const text of texts) {
    const a = await embedOnce(ports[0], text)
    const b = await embedOnce(ports[1], text)
    if (a.length === 0 || a.length !== b.length) return Number.POSITIVE_INFINITY
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!)
      if (!(d <= worst)) worst = d
    }
  }
  return worst
}

/** One `POST /embed` of one text on a fresh connection; the vector. */
const embedOnce = async (port: number, text: string): Promise<Array<number>> => {
  const c = await HttpClient.connect("127.0.0.1", port)
  try {
    const [request] = HttpSend.embedRequests(port, "/embed", [text], truncating)
    const response = await c.send(request!)
    if (response.status !== 200) throw new Error(`POST /embed answered ${response.status}`)
    const body = JSON.parse(response.body.toString("utf8")) as Array<Array<number>>
    return body[0] ?? []
  } finally {
    c.close()
  }
}

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<PeerResult, ChildServer.ChildServerError | PeerSetupError> =>
  Effect.scoped(Effect.gen(function*() {
    const inputs = env.inputs
    const idleText = env.idleText
    if (env.model.dir === undefined || inputs === undefined || idleText === undefined) {
      return yield* Effect.fail(new PeerSetupError({ reason: "the peer needs an ONNX model directory (not echo)" }))
    }
    const adabatchConfig = { model: env.options.model, workers: env.workers, threads: env.intraOpNumThreads }
    env.progress.step("peer", "starting adabatch and the transformers.js peer", 8)
    const live = [
      yield* startLive("adabatch", "adabatch.mjs", adabatchConfig),
      yield* startLive("peer", "peer.mjs", { modelDir: env.model.dir })
    ] as const
    const checkTexts = [idleText.text, ...inputs.short.texts.slice(0, 3), ...inputs.long.texts.slice(0, 2)]
    const maxAbsDiff = yield* Effect.promise(() =>
      compareVectors([live[0].server.port, live[1].server.port], checkTexts)
    )
    // warm up: JIT, the models' first runs, the adaptive policies' first decisions
    for (const l of live) {
      yield* Effect.promise(() =>
        Load.closedLoop({ send: l.sendTexts(inputs.short.texts), concurrency: 16, total: 200 })
      )
      yield* Effect.promise(() => Load.closedLoop({ send: l.sendTexts(inputs.long.texts), concurrency: 4, total: 24 }))
    }
    const idle = yield* measureIdle(env, live, idleText.text)
    const closed = yield* measureClosed(env, live)
    const capacity = closedInputs(env).flatMap((input) => {
      const row = closed.find((c) => c.system === "peer" && c.input === input)
      return row === undefined ? [] : [{ input, requestsPerSecond: Stats.median(row.throughput) }]
    })
    const open = yield* measureOpen(env, live, capacity)
    return {
      adabatchConfig,
      peerLibrary: peerLibrary(),
      vectorCheck: { texts: checkTexts.length, maxAbsDiff },
      idle: { text: idleText.text, tokens: idleText.tokens, gapMs, ms: idle },
      closed,
      capacity,
      open
    }
  }))

/**
 * The scenario cannot run with this model.
 *
 * @since 0.1.0
 * @category errors
 */
export class PeerSetupError extends Data.TaggedError("PeerSetupError")<{ readonly reason: string }> {
  override get message(): string {
    return `peer scenario: ${this.reason}`
  }
}

const measureIdle = (env: Env, live: ReadonlyArray<Live>, text: string) =>
  Effect.gen(function*() {
    const ms: Record<PeerSystem, Array<Array<number>>> = { adabatch: [], peer: [] }
    const texts = [text]
    for (let r = 0; r < env.options.repeats; r++) {
      for (const l of ordered(live, r)) {
        env.progress.step(
          "peer",
          `idle latency, ${l.system}, repeat ${r + 1}/${env.options.repeats}`,
          (idleCount(env) * (gapMs + 6)) / 1000
        )
        const res = yield* Effect.promise(() =>
          Load.sequential({ send: l.sendTexts(texts), count: idleCount(env), gapMs })
        )
        ms[l.system].push(res.latenciesMs)
      }
    }
    return ms
  })

const measureClosed = (env: Env, live: ReadonlyArray<Live>) =>
  Effect.gen(function*() {
    const { repeats, seconds } = env.options
    const rows: Array<PeerClosedRun> = []
    for (const input of closedInputs(env)) {
      const concurrency = closedConcurrency[input]
      const mine = live.map((l): PeerClosedRun => ({
        system: l.system,
        input,
        concurrency,
        throughput: [],
        p50Ms: [],
        p99Ms: [],
        failures: [],
        serverCpuShare: []
      }))
      for (let r = 0; r < repeats; r++) {
        for (const l of ordered(live, r)) {
          const row = mine.find((m) => m.system === l.system)!
          env.progress.step(
            "peer",
            `${l.system}, ${input} inputs, ${concurrency} clients, repeat ${r + 1}/${repeats}`,
            seconds + warmupMs / 1000 + 0.3
          )
          const before = yield* Effect.promise(() => l.server.stats())
          const t0 = performance.now()
          const res = yield* Effect.promise(() =>
            Load.closedLoop({
              send: l.sendTexts(env.inputs![input].texts),
              concurrency,
              durationMs: seconds * 1000,
              warmupMs
            })
          )
          const wall = performance.now() - t0
          const after = yield* Effect.promise(() => l.server.stats())
          const d = Stats.distribution(res.latenciesMs)
          row.throughput.push(res.throughput)
          row.p50Ms.push(d.p50)
          row.p99Ms.push(d.p99)
          row.failures.push(res.errors + res.rejected)
          row.serverCpuShare.push((after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs) / wall)
        }
      }
      rows.push(...mine)
    }
    return rows
  })

const measureOpen = (
  env: Env,
  live: ReadonlyArray<Live>,
  capacity: PeerResult["capacity"]
) =>
  Effect.gen(function*() {
    const { loadSeconds, loads, repeats, seed } = env.options
    const points: Array<PeerOpenPoint> = []
    for (const { input, requestsPerSecond } of capacity.filter((c) => env.options.loadInputs.includes(c.input))) {
      const texts = env.inputs![input].texts
      const rows = new Map<string, PeerOpenPoint>()
      for (const level of loads) {
        for (const l of live) rows.set(`${l.system}@${level}`, { system: l.system, input, level, windows: [] })
      }
      for (let r = 0; r < repeats; r++) {
        for (const level of loads) {
          const rate = (requestsPerSecond * level) / 100
          const schedule = Arrivals.poisson({
            ratePerSecond: rate,
            durationMs: loadSeconds * 1000 * 1.25,
            seed: seed * 1_000_003 + r * 1009 + level
          })
          for (const l of ordered(live, r)) {
            env.progress.step(
              "peer",
              `${l.system}, ${input} inputs, ${level}% of the peer's capacity, repeat ${r + 1}/${repeats}`,
              loadSeconds * 1.25 + 0.5
            )
            const res = yield* Effect.promise(() =>
              Load.openLoop({
                send: l.sendTexts(texts),
                schedule,
                warmupMs: loadSeconds * 1000 * 0.25,
                drainTimeoutMs: 60_000
              })
            )
            const d = Stats.distribution(res.latenciesMs)
            rows.get(`${l.system}@${level}`)!.windows.push({
              repeat: r,
              offered: rate,
              throughput: res.throughput,
              p50Ms: d.p50,
              p99Ms: d.p99,
              failures: res.rejected + res.errors,
              counted: res.counted,
              lagP99Ms: Stats.distribution(res.lagMs).p99
            })
          }
        }
      }
      points.push(...rows.values())
    }
    return points
  })
