/**
 * The peer comparison in the report: its headline ratios (adabatch / peer, taken inside each
 * repeat) and its section (idle latency, closed-loop throughput, latency against offered load).
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import type { TopLevelSpec } from "vega-lite"
import * as Charts from "./Charts.js"
import type { InputKind } from "./Inputs.js"
import type { PeerClosedRun, PeerResult, PeerSystem } from "./scenarios/PeerScenario.js"
import type { Headline } from "./Summary.js"

const perRepeat = (runs: ReadonlyArray<ReadonlyArray<number>>, p: number) => runs.map((r) => Stats.percentile(r, p))

const closedRow = (peer: PeerResult, system: PeerSystem, input: InputKind): PeerClosedRun | undefined =>
  peer.closed.find((c) => c.system === system && c.input === input)

/**
 * The headline rows of the peer comparison: throughput (goal >= 1.3x on short and long) and idle
 * latency (goal <= 1.0x at P50 and P99), adabatch / peer per repeat.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (peer: PeerResult): Array<Headline> => {
  const out: Array<Headline> = []
  for (const input of ["short", "long", "mix"] as const) {
    const a = closedRow(peer, "adabatch", input)
    const b = closedRow(peer, "peer", input)
    if (a === undefined || b === undefined) continue
    const value = Stats.ratioSpread(a.throughput, b.throughput)
    const goal = input === "mix" ? undefined : 1.3
    out.push({
      label: `adabatch / transformers.js peer throughput, ${input} inputs, ${a.concurrency} clients`,
      value,
      unit: "x",
      goal: goal === undefined ? "(information)" : `>= ${goal}x`,
      met: goal === undefined || !Number.isFinite(value.median) ? undefined : value.median >= goal,
      how: `closed loop over HTTP, ${a.concurrency} keep-alive clients, both servers in their own process, ` +
        `alternating within each repeat; the peer is ${peer.peerLibrary} behind node:http, one pipeline call ` +
        `per request`
    })
  }
  const n = peer.idle.ms.adabatch[0]?.length ?? 0
  for (const [p, name] of [[50, "P50"], [99, "P99"]] as const) {
    const value = Stats.ratioSpread(perRepeat(peer.idle.ms.adabatch, p), perRepeat(peer.idle.ms.peer, p))
    out.push({
      label: `Idle latency ${name}, adabatch / transformers.js peer`,
      value,
      unit: "x",
      goal: "<= 1.0x",
      met: Number.isFinite(value.median) ? value.median <= 1 : undefined,
      how: `${n} sequential requests per system and repeat over HTTP, each after a ${peer.idle.gapMs} ms idle ` +
        `pause, one ${peer.idle.tokens}-token text; ${name} per repeat, the two servers alternating`
    })
  }
  return out
}

const fmt = (x: number): string =>
  !Number.isFinite(x) ? "n/a" : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)

const spreadText = (s: Stats.Spread, unit = ""): string =>
  s.values.length <= 1 || s.min === s.max
    ? `${fmt(s.median)}${unit}`
    : `${fmt(s.median)}${unit} (${fmt(s.min)} - ${fmt(s.max)})`

/**
 * The report section. `chart` registers a chart and returns its Markdown image link.
 *
 * @since 0.1.0
 * @category constructors
 */
export const section = (
  peer: PeerResult,
  chart: (file: string, spec: TopLevelSpec, alt: string) => string
): Array<string> => {
  const md: Array<string> = []
  md.push("## 8. adabatch against what a Node user would run instead")
  md.push("")
  md.push(
    `The peer: ${peer.peerLibrary} (on the same onnxruntime-node) behind a plain \`node:http\` handler, one ` +
      "`pipeline(\"feature-extraction\")` call per request (mean pooling, normalize), no batching, the library's " +
      "default session settings (`servers/peer.mjs`). adabatch: the real server with its defaults " +
      `(${JSON.stringify(peer.adabatchConfig)}). Same model directory, same requests over HTTP/1.1 keep-alive, ` +
      `each server in its own process, the two alternating within each repeat. Their vectors for the same ` +
      `${peer.vectorCheck.texts} texts differ by at most ${peer.vectorCheck.maxAbsDiff.toExponential(1)}.`
  )
  md.push("")
  md.push(idleTable(peer))
  md.push("")
  md.push(table(
    ["closed loop", "clients", "adabatch req/s", "peer req/s", "adabatch / peer", "adabatch P99", "peer P99"],
    [...new Set(peer.closed.map((c) => c.input))].flatMap((input) => {
      const a = closedRow(peer, "adabatch", input)
      const b = closedRow(peer, "peer", input)
      if (a === undefined || b === undefined) return []
      return [[
        `${input} inputs`,
        String(a.concurrency),
        spreadText(Stats.spread(a.throughput)),
        spreadText(Stats.spread(b.throughput)),
        spreadText(Stats.ratioSpread(a.throughput, b.throughput), "x"),
        `${fmt(Stats.median(a.p99Ms))} ms`,
        `${fmt(Stats.median(b.p99Ms))} ms`
      ]]
    })
  ))
  md.push("")
  md.push(...openSection(peer, chart))
  return md
}

const idleTable = (peer: PeerResult): string => {
  const row = (p: number, name: string) => {
    const a = perRepeat(peer.idle.ms.adabatch, p)
    const b = perRepeat(peer.idle.ms.peer, p)
    return [
      `idle ${name}`,
      spreadText(Stats.spread(a), " ms"),
      spreadText(Stats.spread(b), " ms"),
      spreadText(Stats.ratioSpread(a, b), "x")
    ]
  }
  return table(["idle latency (per repeat)", "adabatch", "peer", "adabatch / peer"], [
    row(50, "P50"),
    row(90, "P90"),
    row(99, "P99"),
    row(100, "max")
  ])
}

const openSection = (
  peer: PeerResult,
  chart: (file: string, spec: TopLevelSpec, alt: string) => string
): Array<string> => {
  const md: Array<string> = []
  for (const c of peer.capacity) {
    const points = peer.open.filter((p) => p.input === c.input)
    if (points.length === 0) continue
    md.push(
      `**Open loop, ${c.input} inputs**, offered load as % of the peer's closed-loop capacity ` +
        `(${fmt(c.requestsPerSecond)} req/s). Cells: P50 / P99 latency from the planned send time, throughput.`
    )
    md.push("")
    const levels = [...new Set(points.map((p) => p.level))].sort((a, b) => a - b)
    md.push(table(
      ["system", ...levels.map((l) => `${l} %`)],
      (["adabatch", "peer"] as const).map((system) => [
        system,
        ...levels.map((level) => {
          const w = points.find((p) => p.system === system && p.level === level)?.windows ?? []
          const fails = w.reduce((a, b) => a + b.failures, 0)
          return `${fmt(Stats.median(w.map((x) => x.p50Ms)))} / ${fmt(Stats.median(w.map((x) => x.p99Ms)))} ms, ` +
            `${fmt(Stats.median(w.map((x) => x.throughput)))}/s` + (fails > 0 ? `, ${fails} failed` : "")
        })
      ])
    ))
    md.push("")
    const curve: Array<Charts.LatencyPoint> = points.flatMap((p) =>
      (["P50", "P99"] as const).map((percentile) => ({
        system: p.system,
        level: p.level,
        percentile,
        latencyMs: Stats.median(p.windows.map((w) => (percentile === "P50" ? w.p50Ms : w.p99Ms)))
      }))
    )
    md.push(chart(
      `peer-load-${c.input}.svg`,
      Charts.latencyVsLoad(
        `adabatch vs transformers.js peer, ${c.input} inputs (load: % of the peer's capacity; solid P50, dashed P99)`,
        curve
      ),
      `adabatch vs peer, latency vs load, ${c.input} inputs`
    ))
    md.push("")
  }
  return md
}
