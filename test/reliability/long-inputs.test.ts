/**
 * Long inputs and the event loop: the inputs that once held the server's event loop for about a
 * second each (megabytes without a space: `!`, CJK, emoji; 32 inputs of 60 KB), sent while a
 * stream of normal requests runs, against the real server in a child process (`bin.ts`, tiny ONNX
 * model, default tokenization workers).
 *
 * Each case records the worst stall of the server's event loop while it ran (the child's preload
 * samples `monitorEventLoopDelay` every 100 ms), the latency of the normal requests meanwhile, and
 * the attack's own answer. Asserted: every attack gets its documented answer (the vector of its
 * first tokens, or 422), every normal request 200, and `adabatch_event_loop_delay_seconds` is on
 * `/metrics`. The stall figures go to the report; they are not asserted (a shared machine stalls
 * for reasons of its own).
 */
import { type Outcome, send, sleep } from "@adabatch/testkit/Client"
import * as Metrics from "@adabatch/testkit/Prometheus"
import { Pool, requestBytes } from "@adabatch/testkit/RawHttp"
import { nearestRank } from "@adabatch/testkit/Stats"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Child from "./harness/ChildServer.js"
import { Figures, round } from "./harness/Figures.js"
import { json } from "./harness/Json.js"
import { text } from "./harness/Texts.js"

const figures = new Figures("long-inputs")

const MB = Math.floor(1.9 * 1024 * 1024)
/** The tiny model's maximum: [CLS] + 126 tokens + [SEP]. */
const firstTokens = 126

interface Case {
  readonly name: string
  readonly inputs: string | ReadonlyArray<string>
  readonly truncate: boolean
  /** 200 with the vector of this text (per input), or 422. */
  readonly expect: { readonly status: 200; readonly same: string } | { readonly status: 422 }
  /** Clients sending it in a loop, and for how long (default: 1 client, 3 times in a row). */
  readonly loop?: { readonly clients: number; readonly ms: number }
}

const cases: ReadonlyArray<Case> = [
  { name: "1.9 MB of `!`, truncate false", inputs: "!".repeat(MB), truncate: false, expect: { status: 422 } },
  {
    name: "1.9 MB of `!`, truncate true",
    inputs: "!".repeat(MB),
    truncate: true,
    expect: { status: 200, same: "!".repeat(firstTokens) }
  },
  {
    name: "1.9 MB of CJK",
    inputs: "中".repeat(Math.floor(MB / 3)),
    truncate: true,
    expect: { status: 200, same: "中".repeat(firstTokens) }
  },
  {
    name: "1.9 MB of emoji (one word)",
    inputs: "😀".repeat(Math.floor(MB / 4)),
    truncate: true,
    expect: { status: 200, same: "😀".repeat(101) }
  },
  {
    name: "32 inputs of 60 KB of `!`",
    inputs: Array.from({ length: 32 }, () => "!".repeat(60 * 1024)),
    truncate: true,
    expect: { status: 200, same: "!".repeat(firstTokens) }
  },
  {
    name: "1.9 MB with spaces",
    inputs: "ab ".repeat(Math.floor(MB / 3)),
    truncate: true,
    expect: { status: 200, same: "ab ".repeat(firstTokens).trim() }
  },
  {
    name: "1.9 MB of 100-letter words (slowest for WordPiece)",
    inputs: ("q".repeat(100) + " ").repeat(Math.floor(MB / 101)),
    truncate: true,
    expect: { status: 200, same: ("q".repeat(100) + " ").repeat(firstTokens).trim() }
  },
  {
    name: "1.9 MB that no cut can shorten (no-break spaces), truncate false: a worker thread",
    inputs: "é\u00a0".repeat(Math.floor(MB / 4)),
    truncate: false,
    expect: { status: 422 }
  },
  {
    name: "two clients sending 1.9 MB of `!` in a loop for 3 s",
    inputs: "!".repeat(MB),
    truncate: true,
    expect: { status: 200, same: "!".repeat(firstTokens) },
    loop: { clients: 2, ms: 3_000 }
  }
]

/**
 * CPU time of a process's main thread (the event loop) so far, in ms: `utime + stime` of
 * `/proc/<pid>/task/<pid>/stat`, in 10 ms clock ticks. Unlike a stall, it does not grow when other
 * work on the machine takes the cores.
 */
const mainThreadCpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** The largest difference between two lists of vectors (Infinity when their shapes differ). */
const maxDiff = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<ReadonlyArray<number>>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.length !== b[i]!.length) return Infinity
    for (let j = 0; j < a[i]!.length; j++) d = Math.max(d, Math.abs(a[i]![j]! - b[i]![j]!))
  }
  return d
}

describe("long inputs while normal requests run", () => {
  let server: Child.ChildServer
  let pool: Pool
  const normal: Array<{ readonly at: number; readonly ms: number; readonly status: number | undefined }> = []
  let running = true
  let stream: Promise<unknown> = Promise.resolve()
  const rows: Array<Record<string, unknown>> = []
  /** Main-thread CPU per normal request, from the baseline. */
  let cpuPerNormalMs = 0

  beforeAll(async () => {
    server = await Child.start(["--model", "tiny", "--request-timeout-ms", "30000"], { sampleMs: 100 })
    pool = await Pool.open(server.port, 2)
    // normal requests, two at a time, 5 ms apart, for as long as the cases run
    stream = Promise.all(Array.from({ length: 2 }, async (_, lane) => {
      for (let i = lane; running; i += 2) {
        const at = performance.now()
        const o = await pool.send(requestBytes(server.port, "POST", "/embed", { inputs: text(i % 64, 10) }), {
          timeoutMs: 60_000
        })!
        normal.push({ at, ms: o.latencyMs, status: o.status })
        await sleep(5)
      }
    }))
    await sleep(1_000)
  })

  afterAll(async () => {
    running = false
    await stream
    pool?.close()
    figures.set("cases", rows)
    figures.write()
    await server?.stop()
  })

  const window = (from: number, to: number) => {
    const during = normal.filter((n) => n.at >= from && n.at <= to)
    const latencies = during.map((n) => n.ms)
    // the child's samples are wall-clock stamped; those that cover [from, to]
    const wallFrom = Date.now() - (performance.now() - from)
    const wallTo = Date.now() - (performance.now() - to) + 100
    const lags = server.memory().filter((m) => m.t >= wallFrom && m.t <= wallTo).map((m) => m.lagMaxMs)
    return {
      normalRequests: during.length,
      normalNot200: during.filter((n) => n.status !== 200).length,
      normalMaxMs: round(latencies.reduce((a, b) => Math.max(a, b), 0)),
      normalP99Ms: round(nearestRank(latencies, 0.99)),
      worstStallMs: lags.reduce((a, b) => Math.max(a, b), 0)
    }
  }

  it("baseline: the stream of normal requests alone", async () => {
    const cpu = mainThreadCpuMs(server.pid)
    const from = performance.now()
    await sleep(3_000)
    const figures = window(from, performance.now())
    cpuPerNormalMs = (mainThreadCpuMs(server.pid) - cpu) / Math.max(1, figures.normalRequests)
    rows.push({ name: "none (normal requests only)", ...figures, cpuPerNormalMs: round(cpuPerNormalMs, 2) })
    expect(figures.normalNot200).toBe(0)
  })

  for (const c of cases) {
    it(c.name, async () => {
      const port = server.port
      const body = { inputs: c.inputs, truncate: c.truncate }
      const reference = c.expect.status === 200
        ? json(await send(port, { path: "/embed", body: { inputs: c.expect.same, truncate: true } })) as Array<
          Array<number>
        >
        : undefined
      const attacks: Array<Outcome> = []
      const wrong: Array<string> = []
      const check = (o: Outcome) => {
        attacks.push(o)
        if (o.status !== c.expect.status) wrong.push(`${c.name}: ${o.status ?? o.error}`)
        else if (reference !== undefined) {
          const count = typeof c.inputs === "string" ? 1 : c.inputs.length
          const want = Array.from({ length: count }, () => reference[0]!)
          if (maxDiff(json(o), want) > 1e-5) wrong.push(`${c.name}: wrong vectors`)
        } else if (!/has at least \d+ tokens|has \d+ tokens/.test(json(o)?.error ?? "")) {
          wrong.push(`${c.name}: ${JSON.stringify(json(o))}`)
        }
      }
      await sleep(300)
      const cpu = mainThreadCpuMs(server.pid)
      const from = performance.now()
      if (c.loop === undefined) {
        for (let i = 0; i < 3; i++) check(await send(port, { path: "/embed", body, timeoutMs: 60_000 }))
      } else {
        const until = from + c.loop.ms
        await Promise.all(Array.from({ length: c.loop.clients }, async () => {
          while (performance.now() < until) check(await send(port, { path: "/embed", body, timeoutMs: 60_000 }))
        }))
      }
      await sleep(300)
      const figures = window(from, performance.now())
      const cpuMs = mainThreadCpuMs(server.pid) - cpu
      rows.push({
        name: c.name,
        requests: attacks.length,
        status: attacks[0]?.status,
        attackMaxMs: round(attacks.reduce((a, o) => Math.max(a, o.latencyMs), 0)),
        // the event loop's own work per long request: its CPU time less the normal requests' share
        cpuPerRequestMs: round(Math.max(0, cpuMs - figures.normalRequests * cpuPerNormalMs) / attacks.length),
        ...figures
      })
      expect(wrong).toEqual([])
      expect(figures.normalNot200).toBe(0)
    }, 120_000)
  }

  it("adabatch_event_loop_delay_seconds is on /metrics and counted every sample", async () => {
    const text = (await send(server.port, { path: "/metrics" })).body.toString("utf8")
    expect(text).toMatch(/^# TYPE adabatch_event_loop_delay_seconds histogram$/m)
    const count = Metrics.value(text, "adabatch_event_loop_delay_seconds_count")
    const within50 = Metrics.value(text, "adabatch_event_loop_delay_seconds_bucket", { le: "0.05" })
    const inWorkers = Metrics.value(text, "adabatch_model_tokenizer_worker_texts_total")
    figures.set("metrics", {
      eventLoopSamples: count,
      samplesOver50Ms: count - within50,
      eventLoopDelaySumSeconds: round(Metrics.value(text, "adabatch_event_loop_delay_seconds_sum"), 3),
      textsTokenizedInWorkers: inWorkers
    })
    expect(count).toBeGreaterThan(100)
    // the text no cut shortens, three times
    expect(inWorkers).toBeGreaterThanOrEqual(3)
  })
})
