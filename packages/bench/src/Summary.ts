/**
 * The headline figures at the top of the report: each one a ratio (or difference) taken inside
 * each repeat of the run, summarised as min / median / max, next to its goal.
 *
 * @since 0.1.0
 */
import * as Stats from "@adabatch/testkit/Stats"
import * as LayoutReport from "./LayoutReport.js"
import * as PeerReport from "./PeerReport.js"
import type { Results } from "./Results.js"

/**
 * One headline row.
 *
 * @since 0.1.0
 * @category models
 */
export interface Headline {
  readonly label: string
  readonly value: Stats.Spread
  readonly unit: "x" | "ms" | "/s"
  /** The goal in words, e.g. `>= 0.95x`. */
  readonly goal: string
  /** Whether the median meets the goal (`undefined`: no goal, reported for information). */
  readonly met: boolean | undefined
  /** How the figure was obtained. */
  readonly how: string
}

const atLeast = (value: Stats.Spread, goal: number) => Number.isFinite(value.median) ? value.median >= goal : undefined
const atMost = (value: Stats.Spread, goal: number) => Number.isFinite(value.median) ? value.median <= goal : undefined

const medians = (xs: ReadonlyArray<ReadonlyArray<number>>) => xs.map((x) => Stats.median(x))

/**
 * Computes the headline rows available in `results` (rows whose scenarios did not run are left out).
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (results: Results): Array<Headline> => {
  const out: Array<Headline> = []
  const { engine, memory, original, peer, systems, transport } = results.scenarios
  if (peer !== undefined) out.push(...PeerReport.headlines(peer))

  if (systems !== undefined) {
    for (const raw of systems.raw) {
      const adaptive = systems.runs.find((r) => r.system === "adaptive" && r.input === raw.input)
      if (adaptive === undefined) continue
      const value = Stats.ratioSpread(adaptive.throughput, raw.itemsPerSecond)
      out.push({
        label:
          `Throughput through EmbeddingModel + engine / raw session.run ceiling, ${raw.input} inputs (~${raw.seq} tokens)`,
        value,
        unit: "x",
        goal: ">= 0.95x",
        met: atLeast(value, 0.95),
        how:
          `adaptive, ${systems.concurrency} callers in process, vs raw session.run at batch ${raw.batch} x seq ${raw.seq} ` +
          `(the best batch size of the ceiling curve) in a worker, measured in the same repeat`
      })
    }
  }
  if (original !== undefined && original.idle.rawMs.length > 0) {
    const raw = medians(original.idle.rawMs)
    const inProcess = Stats.differenceSpread(medians(original.idle.inProcessMs), raw)
    out.push({
      label: "Idle single-text latency - one raw batch-1 session.run (in process)",
      value: inProcess,
      unit: "ms",
      goal: "<= 1.5 ms",
      met: atMost(inProcess, 1.5),
      how: `median of ${original.idle.inProcessMs[0]?.length ?? 0} sequential Embedder.embed calls minus the median ` +
        `raw session.run at batch 1 x seq ${original.idle.tokens} in a worker, per repeat; requests and raw runs ` +
        `each follow a ${original.idle.gapMs} ms idle pause`
    })
    const http = Stats.differenceSpread(medians(original.idle.httpMs), raw)
    out.push({
      label: "Idle single-text latency - one raw batch-1 session.run (over HTTP)",
      value: http,
      unit: "ms",
      goal: "<= 1.5 ms",
      met: atMost(http, 1.5),
      how: "the same over HTTP/1.1 keep-alive to the server in a child process"
    })
  }
  if (transport !== undefined) {
    const echo = transport.servers.find((s) => s.name === "adabatch-echo")
    const effect = transport.servers.find((s) => s.name === "effect-http")
    const node = transport.servers.find((s) => s.name === "node-http")
    if (echo !== undefined && effect !== undefined) {
      const value = Stats.ratioSpread(echo.throughput, effect.throughput)
      out.push({
        label: "adabatch server (echo model) req/s / bare effect/http echo",
        value,
        unit: "x",
        goal: ">= 0.6x",
        met: atLeast(value, 0.6),
        how: `closed loop, ${transport.concurrency} keep-alive connections, each server in its own process`
      })
    }
    if (echo !== undefined && node !== undefined) {
      const value = Stats.ratioSpread(echo.throughput, node.throughput)
      out.push({
        label: "adabatch server (echo model) req/s / bare node:http echo",
        value,
        unit: "x",
        goal: "(information)",
        met: undefined,
        how: "the same against the transport ceiling"
      })
    }
  }
  if (engine !== undefined) {
    const bare = engine.variants.find((v) => v.name === "bare")
    const eng = engine.variants.find((v) => v.name === "engine")
    if (eng !== undefined) {
      const value = Stats.spread(eng.submitsPerSecond)
      out.push({
        label: "Engine submits/s in process, no-op batch function, one core",
        value,
        unit: "/s",
        goal: ">= 150,000/s",
        met: atLeast(value, 150_000),
        how: `Batcher.make, fixed cap 64, fixed wait 1 ms, ${engine.concurrency} submitting fibers`
      })
    }
    if (eng !== undefined && bare !== undefined) {
      const value = Stats.ratioSpread(eng.submitsPerSecond, bare.submitsPerSecond)
      out.push({
        label: "Engine submits/s / bare Queue -> groupedWithin -> Deferred pipeline",
        value,
        unit: "x",
        goal: ">= 0.7x",
        met: atLeast(value, 0.7),
        how: "same limits, same submitters, interleaved repeats"
      })
    }
  }
  if (systems !== undefined) {
    for (const input of [...new Set(systems.runs.map((r) => r.input))]) {
      const rows = systems.runs.filter((r) => r.input === input)
      const adaptive = rows.find((r) => r.system === "adaptive")
      if (adaptive === undefined) continue
      const fixed = rows.filter((r) => r.system.startsWith("fixed-"))
      const bestFixed = fixed.reduce<typeof fixed[number] | undefined>(
        (best, r) => best === undefined || Stats.median(r.throughput) > Stats.median(best.throughput) ? r : best,
        undefined
      )
      if (bestFixed !== undefined) {
        const value = Stats.ratioSpread(adaptive.throughput, bestFixed.throughput)
        out.push({
          label: `Adaptive / best fixed (${bestFixed.system}) throughput, ${input} inputs`,
          value,
          unit: "x",
          goal: ">= 1.0x",
          met: atLeast(value, 0.98),
          how: `closed loop, ${systems.concurrency} callers; best of ${
            fixed.map((f) => f.system).join(", ")
          } by median (>= 0.98 counts as met: noise)`
        })
      }
      for (const other of ["tei", "original"]) {
        const o = rows.find((r) => r.system === other)
        if (o === undefined) continue
        const value = Stats.ratioSpread(adaptive.throughput, o.throughput)
        out.push({
          label: `Adaptive / ${other === "tei" ? "TEI-style" : "original algorithm"} throughput, ${input} inputs`,
          value,
          unit: "x",
          goal: ">= 1.0x",
          met: atLeast(value, 0.98),
          how: `closed loop, ${systems.concurrency} callers, same model (>= 0.98 counts as met: noise)`
        })
      }
    }
  }
  if (results.scenarios.load !== undefined) {
    const load = results.scenarios.load
    for (const input of [...new Set(load.points.map((p) => p.input))]) {
      const levels = [...new Set(load.points.filter((p) => p.input === input).map((p) => p.level))]
        .filter((l) => l < 100)
      const level = levels.length === 0 ? undefined : Math.max(...levels)
      if (level === undefined) continue
      const at = (system: string) =>
        load.points.find((p) => p.input === input && p.level === level && p.system === system)
      const adaptive = at("adaptive")
      if (adaptive === undefined) continue
      for (const other of ["tei", "original"]) {
        const o = at(other)
        if (o === undefined) continue
        const value = Stats.ratioSpread(o.windows.map((w) => w.p99Ms), adaptive.windows.map((w) => w.p99Ms))
        out.push({
          label: `${
            other === "tei" ? "TEI-style" : "Original algorithm"
          } P99 / adaptive P99 at ${level} % load, ${input} inputs`,
          value,
          unit: "x",
          goal: ">= 1.0x",
          met: atLeast(value, 0.98),
          how: "open loop, Poisson arrivals, latency from the planned send time (> 1: adaptive is faster)"
        })
      }
    }
  }
  if (memory !== undefined) {
    const reuse = memory.variants.find((v) => v.name === "reuse")
    const noReuse = memory.variants.find((v) => v.name === "no-reuse")
    if (reuse !== undefined && noReuse !== undefined) {
      const alloc = Stats.ratioSpread(reuse.allocatedBytesPerRequest, noReuse.allocatedBytesPerRequest)
      out.push({
        label: "Bytes allocated per request, buffer reuse / no reuse",
        value: alloc,
        unit: "x",
        goal: "<= 0.7x (-30 %)",
        met: atMost(alloc, 0.7),
        how: "JS heap (V8 GC profiler) + int64 input tensors (model counter), sustained closed loop"
      })
      const gc = Stats.ratioSpread(reuse.gcPauseMsPer1000, noReuse.gcPauseMsPer1000)
      out.push({
        label: "GC pause time per request, buffer reuse / no reuse",
        value: gc,
        unit: "x",
        goal: "<= 0.5x (-50 %)",
        met: atMost(gc, 0.5),
        how: "sum of V8 GC costs over the window / requests"
      })
    }
  }
  if (original !== undefined) {
    const fifty = original.throughput.find((t) => t.concurrency === 50)
    if (fifty !== undefined) {
      const value = Stats.spread(fifty.throughput)
      out.push({
        label: "HTTP throughput, 500 requests at 50 concurrent (original: 3,108/s, target 5,000+/s)",
        value,
        unit: "/s",
        goal: "(model-bound here: see the ceilings)",
        met: undefined,
        how: "closed loop over HTTP against the real server with the model under test"
      })
    }
    const idle = Stats.spread(medians(original.idle.httpMs))
    out.push({
      label: "Single-request latency at an idle server, median (original: 574 ms, target < 100 ms)",
      value: idle,
      unit: "ms",
      goal: "< 100 ms",
      met: atMost(idle, 100),
      how: "sequential requests over HTTP"
    })
  }
  out.push(...LayoutReport.headlines(results))
  return out
}
