/**
 * Scenario `transport`: the transport ceiling and the real server's overhead. Three servers, each
 * in its own child process, answer a closed loop of 50 concurrent keep-alive clients:
 *
 * - a bare `node:http` JSON echo server;
 * - a bare `effect/http` JSON echo server (HttpRouter + schemaBodyJson);
 * - the adabatch server with the `echo` model (no ONNX: the whole request path, tokenizer and
 *   engine included, minus inference).
 *
 * Repeats are interleaved (node, effect, adabatch, node, effect, adabatch, ...). The generator's
 * and each server's CPU share are recorded, and `wrk` cross-checks each server once if installed.
 *
 * @since 0.1.0
 */
import * as Http1 from "@adabatch/testkit/Http1"
import * as HttpClient from "@adabatch/testkit/HttpClient"
import * as HttpSend from "@adabatch/testkit/HttpSend"
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Effect } from "effect"
import * as ChildServer from "../ChildServer.js"
import type { Env } from "../Env.js"
import * as Wrk from "../Wrk.js"

/**
 * The servers of this scenario.
 *
 * @since 0.1.0
 * @category constants
 */
export const transportServers = ["node-http", "effect-http", "adabatch-echo"] as const

/**
 * A server's figures over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerResult {
  readonly name: typeof transportServers[number]
  /** Successful requests per second, per repeat. */
  readonly throughput: Array<number>
  readonly generatorCpuShare: Array<number>
  readonly serverCpuShare: Array<number>
  readonly errors: Array<number>
  /** Median latency (ms), per repeat. */
  readonly p50Ms: Array<number>
  /** `wrk -t1 -c50` requests/s, if wrk ran. */
  readonly wrk: number | undefined
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransportResult {
  readonly concurrency: number
  readonly body: string
  readonly servers: Array<ServerResult>
}

const concurrency = 50
const body = JSON.stringify({ inputs: "The quick brown fox jumps over the lazy dog." })

const entries: Record<typeof transportServers[number], { entry: string; path: string; config: unknown }> = {
  "node-http": { entry: "nodeEcho.mjs", path: "/", config: {} },
  "effect-http": { entry: "effectEcho.mjs", path: "/echo", config: {} },
  "adabatch-echo": { entry: "adabatch.mjs", path: "/embed", config: { model: "echo" } }
}

/**
 * Path of a child server entry.
 *
 * @since 0.1.0
 * @category utils
 */
export const serverEntry = (file: string): string => new URL(`../servers/${file}`, import.meta.url).pathname

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  transportServers.length * (env.options.repeats * (env.options.seconds + 0.5) + 2 + (env.options.wrk ? 1.5 : 0))

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<TransportResult, ChildServer.ChildServerError> =>
  Effect.scoped(Effect.gen(function*() {
    const { repeats, seconds } = env.options
    const live = []
    for (const name of transportServers) {
      env.progress.step("transport", `starting ${name}`, 2)
      const e = entries[name]
      const server = yield* ChildServer.start({ name, entry: serverEntry(e.entry), config: e.config })
      const pool = HttpClient.makePool("127.0.0.1", server.port)
      yield* Effect.addFinalizer(() => Effect.sync(() => pool.close()))
      yield* Effect.promise(() => pool.warm(concurrency))
      const request = Http1.encodeRequest({
        method: "POST",
        path: e.path,
        host: "127.0.0.1",
        port: server.port,
        body
      })
      live.push({ name, server, pool, path: e.path, send: HttpSend.make(pool, [request]) })
    }
    const results: Array<ServerResult> = live.map((l) => ({
      name: l.name,
      throughput: [],
      generatorCpuShare: [],
      serverCpuShare: [],
      errors: [],
      p50Ms: [],
      wrk: undefined
    }))
    for (let r = 0; r < repeats; r++) {
      for (let k = 0; k < live.length; k++) {
        const l = live[k]!
        const out = results[k]!
        env.progress.step("transport", `${l.name}, repeat ${r + 1}/${repeats}`, seconds + 0.5)
        const before = yield* Effect.promise(() => l.server.stats())
        const t0 = performance.now()
        const res = yield* Effect.promise(() =>
          Load.closedLoop({ send: l.send, concurrency, durationMs: seconds * 1000, warmupMs: 500 })
        )
        const wall = performance.now() - t0
        const after = yield* Effect.promise(() => l.server.stats())
        out.throughput.push(res.throughput)
        out.generatorCpuShare.push(res.generatorCpuShare)
        out.serverCpuShare.push(
          (after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs) / wall
        )
        out.errors.push(res.errors + res.rejected)
        out.p50Ms.push(Stats.median(res.latenciesMs))
      }
    }
    if (env.options.wrk && Wrk.available()) {
      for (let k = 0; k < live.length; k++) {
        const l = live[k]!
        env.progress.step("transport", `wrk cross-check of ${l.name}`, 1.5)
        const rps = yield* Effect.promise(() =>
          Wrk.run({ url: `http://127.0.0.1:${l.server.port}${l.path}`, body, connections: concurrency, seconds: 1 })
        )
        results[k] = { ...results[k]!, wrk: rps }
      }
    }
    return { concurrency, body, servers: results }
  }))
