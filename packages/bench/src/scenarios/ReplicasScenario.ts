/**
 * Scenario `replicas`: more inference threads in one server, or more servers behind a load
 * balancer? With as many inference threads in total as the machine has cores (2 on the reference
 * machine), four layouts answer the same closed loops, interleaved:
 *
 * - `1x2 direct`: one server, one worker of 2 intra-op threads (today's `auto` on 2 cores);
 * - `2x1 direct`: one server, two workers of one thread;
 * - `2x1 haproxy`: the same server behind HAProxy (`deploy/haproxy/haproxy.cfg`): the balancer's
 *   own cost;
 * - `2 replicas haproxy`: two servers of one worker of one thread behind HAProxy.
 *
 * Each runs short and long inputs (one text per request, truncated to the model's maximum length) at 32 clients (throughput, p50, p99) and
 * at one client (the latency a hop adds). Every server runs the built `adabatch-server` in its
 * own process; HAProxy must be installed (`apt-get install haproxy`).
 *
 * @since 0.1.0
 */
import * as Http1 from "@adabatch/testkit/Http1"
import * as HttpClient from "@adabatch/testkit/HttpClient"
import * as HttpSend from "@adabatch/testkit/HttpSend"
import * as Load from "@adabatch/testkit/Load"
import * as Stats from "@adabatch/testkit/Stats"
import { Data, Effect } from "effect"
import { availableParallelism } from "node:os"
import type { Env } from "../Env.js"
import * as Haproxy from "../Haproxy.js"
import type { InputKind } from "../Inputs.js"
import * as Replicas from "../Replicas.js"

/**
 * The layouts compared.
 *
 * @since 0.1.0
 * @category constants
 */
export const layouts = ["1x2 direct", "2x1 direct", "2x1 haproxy", "2 replicas haproxy"] as const

/**
 * A layout name.
 *
 * @since 0.1.0
 * @category models
 */
export type Layout = typeof layouts[number]

/**
 * One layout, input and client count over the repeats.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplicasRun {
  readonly layout: Layout
  readonly input: InputKind
  readonly clients: number
  /** Answers per second, per repeat. */
  readonly throughput: Array<number>
  readonly p50Ms: Array<number>
  readonly p99Ms: Array<number>
  /** Requests without a 200, per repeat. */
  readonly failures: Array<number>
}

/**
 * The scenario's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplicasResult {
  readonly cores: number
  readonly clients: ReadonlyArray<number>
  readonly runs: Array<ReplicasRun>
}

/**
 * HAProxy is missing or a server did not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReplicasError extends Data.TaggedError("ReplicasError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const clients = [32, 1] as const
const inputs: ReadonlyArray<InputKind> = ["short", "long"]

/**
 * Planned seconds (for the progress bar).
 *
 * @since 0.1.0
 * @category utils
 */
export const plannedSeconds = (env: Env): number =>
  20 + layouts.length * inputs.length * clients.length * env.options.repeats * (env.options.seconds + 0.5)

const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new ReplicasError({ reason: `${what}: ${String(e)}` }) })

/** Starts the servers and balancers; returns each layout's port. */
const startLayouts = (env: Env) =>
  Effect.gen(function*() {
    const model = ["--model", env.options.model]
    const server = (name: string, workers: number, threads: number) =>
      Effect.acquireRelease(
        attempt(`starting ${name}`, () =>
          Replicas.startReplica({
            name,
            port: 0,
            flags: [...model, "--workers", String(workers), "--threads", String(threads)]
          })),
        (r) => Effect.promise(() => r.stop("SIGTERM"))
      )
    const balancer = (servers: ReadonlyArray<Replicas.Replica>) =>
      Effect.acquireRelease(
        attempt("starting haproxy", async () =>
          Haproxy.start({
            port: await Haproxy.freePort(),
            statsPort: await Haproxy.freePort(),
            servers: servers.map((s) => ({ name: s.name, port: s.port }))
          })),
        (h) => Effect.promise(() => h.stop())
      )
    env.progress.step("replicas", "starting the servers", 10)
    const oneBy2 = yield* server("server-1x2", 1, 2)
    const twoBy1 = yield* server("server-2x1", 2, 1)
    const replicaA = yield* server("replica1", 1, 1)
    const replicaB = yield* server("replica2", 1, 1)
    const front = yield* balancer([twoBy1])
    const pair = yield* balancer([replicaA, replicaB])
    yield* attempt("waiting for HAProxy's health checks", async () => {
      const deadline = Date.now() + 20_000
      for (const h of [front, pair]) {
        while (!(await h.servers()).every((s) => s.status === "UP")) {
          if (Date.now() > deadline) throw new Error("replicas not UP in HAProxy")
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    })
    const ports: Record<Layout, number> = {
      "1x2 direct": oneBy2.port,
      "2x1 direct": twoBy1.port,
      "2x1 haproxy": front.port,
      "2 replicas haproxy": pair.port
    }
    return ports
  })

/**
 * Runs the scenario.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (env: Env): Effect.Effect<ReplicasResult, ReplicasError> =>
  Effect.scoped(Effect.gen(function*() {
    if (!Haproxy.available()) {
      return yield* Effect.fail(new ReplicasError({ reason: "haproxy is not installed (apt-get install haproxy)" }))
    }
    const ports = yield* startLayouts(env)
    const runs: Array<ReplicasRun> = []
    const sends = new Map<string, Load.Send>()
    for (const layout of layouts) {
      const pool = HttpClient.makePool("127.0.0.1", ports[layout])
      yield* Effect.addFinalizer(() => Effect.sync(() => pool.close()))
      yield* Effect.promise(() => pool.warm(clients[0]))
      for (const input of inputs) {
        const texts = env.inputs![input].texts
        const requests = texts.map((text) =>
          Http1.encodeRequest({
            method: "POST",
            path: "/embed",
            host: "127.0.0.1",
            port: ports[layout],
            body: JSON.stringify({ inputs: text, truncate: true })
          })
        )
        sends.set(`${layout}/${input}`, HttpSend.make(pool, requests))
        for (const c of clients) {
          runs.push({ layout, input, clients: c, throughput: [], p50Ms: [], p99Ms: [], failures: [] })
        }
      }
    }
    for (let r = 0; r < env.options.repeats; r++) {
      for (const input of inputs) {
        for (const c of clients) {
          for (const layout of layouts) {
            const out = runs.find((x) => x.layout === layout && x.input === input && x.clients === c)!
            env.progress.step(
              "replicas",
              `${layout}, ${input}, ${c} clients, repeat ${r + 1}/${env.options.repeats}`,
              env.options.seconds + 0.5
            )
            const res = yield* Effect.promise(() =>
              Load.closedLoop({
                send: sends.get(`${layout}/${input}`)!,
                concurrency: c,
                durationMs: env.options.seconds * 1000,
                warmupMs: 500
              })
            )
            out.throughput.push(res.throughput)
            out.p50Ms.push(Stats.percentile(res.latenciesMs, 50))
            out.p99Ms.push(Stats.percentile(res.latenciesMs, 99))
            out.failures.push(res.errors + res.rejected)
          }
        }
      }
    }
    return { cores: availableParallelism(), clients, runs }
  }))
