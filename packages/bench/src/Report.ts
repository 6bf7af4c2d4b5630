/**
 * The Markdown report and its charts, from `results.json` alone (so that `docs/benchmarks.md` can
 * be regenerated from any stored run).
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import type { TopLevelSpec } from "vega-lite"
import * as Charts from "./Charts.js"
import * as LayoutReport from "./LayoutReport.js"
import * as Machine from "./Machine.js"
import * as PeerReport from "./PeerReport.js"
import * as PolicyReport from "./PolicyReport.js"
import type { Results } from "./Results.js"
import { originalFigures } from "./scenarios/OriginalScenario.js"
import type { ReplicasResult } from "./scenarios/ReplicasScenario.js"
import * as Summary from "./Summary.js"

/**
 * Formats a number for a table: thousands separators above 1,000, fewer decimals as it grows.
 *
 * @since 0.1.0
 * @category formatting
 */
export const num = (x: number): string => {
  if (!Number.isFinite(x)) return "n/a"
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toLocaleString("en-US")
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toFixed(3)
}

/**
 * `median (min - max)` of a spread, with a unit.
 *
 * @since 0.1.0
 * @category formatting
 */
export const spread = (s: Stats.Spread, unit = ""): string =>
  s.values.length <= 1 || s.min === s.max
    ? `${num(s.median)}${unit}`
    : `${num(s.median)}${unit} (${num(s.min)} - ${num(s.max)})`

const pct = (x: number) => `${Math.round(x * 100)} %`

/**
 * The report: Markdown text and the charts it links (file name -> spec).
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly markdown: string
  readonly charts: ReadonlyArray<{ readonly file: string; readonly spec: TopLevelSpec }>
}

/**
 * Builds the report. `chartDir` is the path prefix of chart links in the Markdown.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (results: Results, chartDir = "."): Report => {
  const charts: Array<{ file: string; spec: TopLevelSpec }> = []
  const chart = (file: string, spec: TopLevelSpec, alt: string) => {
    charts.push({ file, spec })
    return `![${alt}](${chartDir}/${file})`
  }
  const s = results.scenarios
  const o = results.options
  const md: Array<string> = []
  md.push(`# adabatch benchmark report`)
  md.push("")
  md.push(
    `Run of ${results.startedAt} (${o.preset} preset, ${
      Math.round(results.durationSeconds)
    } s), model \`${results.model.name}\` ` +
      `(${results.model.workers} worker, ${results.model.intraOpNumThreads} intra-op threads), ` +
      `${o.repeats} interleaved repeats of ${o.seconds} s windows` +
      (results.machine.gitCommit === undefined
        ? ""
        : `, commit ${results.machine.gitCommit}${results.machine.gitDirty === true ? " (with local changes)" : ""}`) +
      "."
  )
  md.push("")
  md.push(
    `Machine: ${Machine.summary(results.machine)}; at the end ${(results.loadAverageEnd ?? []).join(" / ")}.`
  )
  md.push("")
  // The benchmark's own work raises the load average during the run and lags behind it, so only
  // the CPU time used by other work just before the start tells a busy machine.
  const busy = results.machine.busyAtStart ?? 0
  if (busy > 0.25) {
    md.push(
      `**Warning: the machine was busy** (${Math.round(busy * 100)} % of its ${results.machine.logicalCpus} CPUs ` +
        "were in use just before the start, by other work). Absolute figures are depressed and noisy; ratios " +
        "within a repeat are affected less, but look at their spread."
    )
    md.push("")
  }
  md.push(
    `Regenerate: \`pnpm bench${o.preset === "full" ? " --full" : ""}\` (this report) or \`pnpm bench:docs\` ` +
      `(full run written to docs/benchmarks.md). Raw samples: results.json.`
  )
  md.push("")
  if (results.failures.length > 0) {
    md.push(
      `**Scenarios that failed in this run:** ` +
        results.failures.map((f) => `${f.scenario} (${f.message.split("\n")[0]})`).join("; ")
    )
    md.push("")
  }

  // Summary
  md.push("## Summary")
  md.push("")
  md.push(
    "Every figure is a ratio or difference taken **inside each repeat** (the two sides measured back to back in " +
      "the same run), then summarised as median (min - max) over the repeats. Absolute figures drift on a shared " +
      "machine; the ratios are what to read."
  )
  md.push("")
  const heads = Summary.headlines(results)
  md.push(table(
    ["figure", "median (min - max)", "goal", "met"],
    heads.map((h) => [
      h.label,
      spread(h.value, h.unit === "x" ? "x" : h.unit === "ms" ? " ms" : "/s"),
      h.goal,
      h.met === undefined ? "-" : h.met ? "yes" : "**no**"
    ])
  ))
  md.push("")
  md.push("<details><summary>How each figure was obtained</summary>")
  md.push("")
  for (const h of heads) md.push(`- ${h.label}: ${h.how}.`)
  md.push("")
  md.push("</details>")
  md.push("")

  // Method
  md.push("## How this was measured")
  md.push("")
  md.push([
    "- **Same run, interleaved.** Every comparison measures its systems in the same run, in turn (A, B, C, A, B, C, ...); " +
    "ratios are taken per repeat and reported as median (min - max).",
    "- **HTTP tests** (transport, original experiments) run each server in its **own child process**; the load " +
    "generator is a minimal HTTP/1.1 keep-alive client on raw sockets (pre-encoded requests), because Node's own " +
    "client costs more CPU per request than a bare server does. The generator's CPU share of one core is reported " +
    "next to each figure; when `wrk` is installed, it cross-checks each transport figure.",
    "- **Systems comparison and load curves run in process**: one model instance (same worker threads and ONNX " +
    "sessions), and each system is a different batcher in front of it. The load generator then shares the event " +
    "loop with the systems, equally for all of them.",
    "- **Closed-loop throughput** (a fixed number of callers, each sending again as soon as it is answered) is " +
    "computed by Little's law, callers / mean latency, over the requests started in the window: a batcher answers " +
    "in bursts, one per batch, so counting answers inside a short window would be quantised by whole batches. " +
    "The original experiments (a fixed request total) use total time instead, as the original did.",
    "- **Open loop, no coordinated omission**: requests follow a seeded Poisson schedule computed before the window; " +
    "each latency runs from the request's *planned* send time. The generator's lag behind its plan is recorded " +
    "(results.json). The first 25 % of each window is warm-up and not counted.",
    "- **Percentiles** interpolate linearly between closest ranks (NumPy's default); standard deviations are sample " +
    "ones (n - 1).",
    "- **Baselines** are re-implementations in this package: the original algorithm (min batch 4, hard timeout 500 ms, " +
    "queue 320, its cap of 32 enforced), TEI's strategy as a separate small implementation (no timer, at most 8 " +
    "requests, padded-token budget 16384, one batch pre-built, 512 permits), dataloader 2.2.3 (cache off, " +
    "maxBatchSize 32), and no batching (batch of 1). `fixed-N` is adabatch with fixed policies (cap N, 5 ms wait).",
    "- **The peer** is not a re-implementation: transformers.js, what a Node user would run instead, behind a " +
    "plain `node:http` handler in its own process, compared with the real adabatch server over HTTP (section 6).",
    "- **Model**: the built-in models have random weights with the real architecture, so their compute cost is real; " +
    "absolute latencies are this machine's."
  ].join("\n"))
  md.push("")

  // Ceilings
  if (s.model !== undefined || s.transport !== undefined || s.engine !== undefined) {
    md.push("## 1. Ceilings")
    md.push("")
  }
  if (s.model !== undefined) {
    const m = s.model
    md.push("### Model ceiling: raw `session.run` in a worker thread")
    md.push("")
    md.push(
      `Items/s, median over repeats, ${m.intraOpNumThreads} intra-op threads, full attention mask, fetching ` +
        `${m.fetch.join(", ")}. The best batch size per sequence length is in bold.`
    )
    md.push("")
    const batches = [...new Set(m.points.map((p) => p.batch))].sort((a, b) => a - b)
    const seqs = [...new Set(m.points.map((p) => p.seq))].sort((a, b) => a - b)
    md.push(table(
      ["seq \\ batch", ...batches.map(String)],
      seqs.map((seq) => [
        String(seq),
        ...batches.map((b) => {
          const p = m.points.find((x) => x.seq === seq && x.batch === b)
          if (p === undefined) return "-"
          const v = num(Stats.median(p.itemsPerSecond))
          return m.best.some((x) => x.seq === seq && x.batch === b) ? `**${v}**` : v
        })
      ])
    ))
    md.push("")
    const chosen = adaptiveChosen(results)
    md.push(chart(
      "ceiling.svg",
      Charts.ceilingCurve(
        m.points.map((p) => {
          const sp = Stats.spread(p.itemsPerSecond)
          return { seq: `seq ${p.seq}`, batch: p.batch, itemsPerSecond: sp.median, low: sp.min, high: sp.max }
        }),
        chosen
      ),
      "Model ceiling curve"
    ))
    md.push("")
    if (chosen.length > 0) {
      md.push(
        "Markers: the mean batch size the adaptive system ran in the closed-loop comparison, on the ceiling line of " +
          "the nearest sequence length: " +
          chosen.map((c) => `${c.seq}: ${num(c.batch)}`).join(", ") + "."
      )
      md.push("")
    }
  }
  if (s.transport !== undefined) {
    const t = s.transport
    md.push("### Transport ceiling and the server's own overhead")
    md.push("")
    md.push(
      `Closed loop, ${t.concurrency} keep-alive connections, body \`${t.body}\`; each server in its own process.`
    )
    md.push("")
    md.push(table(
      ["server", "req/s", "P50 latency", "generator CPU", "server CPU", "wrk -t1 -c50", "errors"],
      t.servers.map((x) => [
        x.name,
        spread(Stats.spread(x.throughput)),
        `${num(Stats.median(x.p50Ms))} ms`,
        pct(Stats.median(x.generatorCpuShare)),
        pct(Stats.median(x.serverCpuShare)),
        x.wrk === undefined ? "-" : num(x.wrk),
        String(x.errors.reduce((a, b) => a + b, 0))
      ])
    ))
    md.push("")
    md.push(
      "CPU shares are of one core. A server near 100 % with the generator well below it means the server, not the " +
        "generator, set the figure."
    )
    md.push("")
  }
  if (s.engine !== undefined) {
    const e = s.engine
    md.push("### Engine ceiling and engine overhead (in process)")
    md.push("")
    md.push(`${e.concurrency} fibers submit back to back; one Node thread.`)
    md.push("")
    const bare = e.variants.find((v) => v.name === "bare")
    md.push(table(
      ["variant", "submits/s", "/ bare pipeline", "CPU"],
      e.variants.map((v) => [
        engineLabels[v.name] ?? v.name,
        spread(Stats.spread(v.submitsPerSecond)),
        bare === undefined ? "-" : spread(Stats.ratioSpread(v.submitsPerSecond, bare.submitsPerSecond), "x"),
        pct(Stats.median(v.cpuShare))
      ])
    ))
    md.push("")
  }

  // Original experiments
  if (s.original !== undefined) {
    const x = s.original
    md.push("## 2. The original system's experiments, over HTTP")
    md.push("")
    md.push(
      `Against the real server (defaults, model \`${results.model.name}\`) in a child process. The original figures ` +
        "come from its authors' analysis (a Python service on other hardware and another model): compare the " +
        "shapes, not the absolute numbers."
    )
    md.push("")
    md.push("### Throughput")
    md.push("")
    md.push(table(
      [
        "requests x concurrency",
        "original req/s",
        "adabatch req/s",
        "mean latency",
        "time / request",
        "total",
        "failures",
        "generator CPU"
      ],
      x.throughput.map((t) => {
        const f = originalFigures.throughput.find((q) => q.requests === t.requests)
        return [
          `${t.requests} x ${t.concurrency}`,
          f === undefined ? "-" : num(f.throughput),
          spread(Stats.spread(t.throughput)),
          `${num(Stats.median(t.meanLatencyMs))} ms`,
          `${num(Stats.median(t.timePerRequestMs))} ms (original ${f === undefined ? "-" : num(f.meanLatencyMs)} ms)`,
          `${num(Stats.median(t.totalSeconds))} s`,
          String(t.failures.reduce((a, b) => a + b, 0)),
          pct(Stats.median(t.generatorCpuShare))
        ]
      })
    ))
    md.push("")
    md.push(
      "\"time / request\" is total time / requests, which is what the original reported as \"mean latency\"; " +
        "\"mean latency\" here is the mean of the per-request latencies."
    )
    md.push("")
    md.push("### Single-request latency at an idle server")
    md.push("")
    const http = Stats.distribution(x.idle.httpMs.flat())
    const inProc = Stats.distribution(x.idle.inProcessMs.flat())
    const raw = Stats.distribution(x.idle.rawMs.flat())
    const rawBackToBack = Stats.distribution(x.idle.rawBackToBackMs.flat())
    const row = (name: string, d: Stats.Distribution) => [
      name,
      num(d.mean),
      num(d.p50),
      num(d.p95),
      num(d.p99),
      num(d.min),
      num(d.max),
      num(d.stdDev),
      String(d.count)
    ]
    const of = originalFigures.idle
    md.push(table(["ms", "mean", "median", "P95", "P99", "min", "max", "std-dev", "n"], [
      [
        "original (Python, 0.5 s hard timeout)",
        num(of.mean),
        num(of.p50),
        num(of.p95),
        num(of.p99),
        num(of.min),
        num(of.max),
        num(of.stdDev),
        "-"
      ],
      row("adabatch over HTTP", http),
      row("adabatch in process (Embedder.embed)", inProc),
      ...(raw.count > 0 ? [row(`raw session.run, batch 1 x seq ${x.idle.tokens}, after the same pause`, raw)] : []),
      ...(rawBackToBack.count > 0
        ? [row(`raw session.run, batch 1 x seq ${x.idle.tokens}, back to back`, rawBackToBack)]
        : [])
    ]))
    md.push("")
    md.push(
      `Text: "${x.idle.text}" (${x.idle.tokens} tokens); ${x.idle.gapMs} ms pause before each request and each raw run.`
    )
    md.push("")
    md.push("### Batch efficiency: a burst of 200 concurrent requests")
    md.push("")
    md.push(table(
      ["", "batches", "mean batch size", "min batch size", "max batch size"],
      [
        ["original", "1", "200", "200", "200 (cap of 32 not enforced)"],
        ...x.burst.map((b, i) => [
          `adabatch, repeat ${i + 1}`,
          String(b.batches),
          num(b.meanBatchSize),
          `<= ${num(b.minBatchSizeAtMost)}`,
          `${num(b.maxBatchSizeBetween[0] + 1)} - ${num(b.maxBatchSizeBetween[1])}`
        ])
      ]
    ))
    md.push("")
    md.push(
      "Read from the server's `/metrics` (`adabatch_batch_size` histogram, before and after the burst), so min " +
        "and max are known to the bucket. The warm-up traffic of the adaptive policies is not in the window."
    )
    md.push("")
    md.push("### Queue test")
    md.push("")
    md.push(table(
      ["requests sent at once", "answered", "rejected (429/503)", "lost", "time"],
      x.queue.map((q) => [String(q.requests), String(q.ok), String(q.rejected), String(q.lost), `${num(q.seconds)} s`])
    ))
    md.push("")
    md.push(`Original: ${originalFigures.queue.note}. Short inputs (~16 tokens).`)
    md.push("")
  }

  // Systems
  if (s.systems !== undefined) {
    const y = s.systems
    md.push("## 3. Systems compared, closed loop")
    md.push("")
    md.push(
      `${y.concurrency} concurrent callers, one text per request, in process on one shared model. Throughput in ` +
        "requests/s; latency P50 / P99 in ms; batch sizes of the measured windows."
    )
    md.push("")
    for (const input of [...new Set(y.runs.map((r) => r.input))]) {
      const rows = y.runs.filter((r) => r.input === input)
      const adaptive = rows.find((r) => r.system === "adaptive")
      const set = results.inputs.find((i) => i.kind === input)
      md.push(
        `**${input} inputs**${
          set === undefined ? "" : ` (${num(set.meanTokens)} tokens on average, ${set.minTokens} - ${set.maxTokens})`
        }`
      )
      md.push("")
      const raw = y.raw.find((r) => r.input === input)
      md.push(table(
        ["system", "req/s", "adaptive / this", "P50", "P99", "mean batch", "failures"],
        [
          ...rows.map((r) => {
            const sizes = r.batchSizes.flat()
            return [
              r.system,
              spread(Stats.spread(r.throughput)),
              adaptive === undefined || r === adaptive
                ? "-"
                : spread(Stats.ratioSpread(adaptive.throughput, r.throughput), "x"),
              num(Stats.median(r.p50Ms)),
              num(Stats.median(r.p99Ms)),
              num(Stats.mean(sizes)),
              String(r.failures.reduce((a, b) => a + b, 0))
            ]
          }),
          ...(raw === undefined ? [] : [[
            `raw session.run (batch ${raw.batch} x seq ${raw.seq})`,
            spread(Stats.spread(raw.itemsPerSecond)),
            adaptive === undefined ? "-" : spread(Stats.ratioSpread(adaptive.throughput, raw.itemsPerSecond), "x"),
            "-",
            "-",
            String(raw.batch),
            "-"
          ]])
        ]
      ))
      md.push("")
    }
    md.push(chart(
      "systems.svg",
      Charts.systemsThroughput(
        `Closed-loop throughput per system (${y.concurrency} callers; bar: median, rule: min-max over repeats)`,
        y.runs.map((r) => {
          const sp = Stats.spread(r.throughput)
          return { system: r.system, input: r.input, median: sp.median, min: sp.min, max: sp.max }
        })
      ),
      "Closed-loop throughput per system"
    ))
    md.push("")
    const input = y.runs.some((r) => r.input === "mix") ? "mix" : y.runs[0]?.input
    const dist = y.runs.filter((r) => r.input === input).flatMap((r) => {
      const sizes = r.batchSizes.flat()
      return Stats.histogram(sizes).map((h) => ({ system: r.system, size: h.value, share: h.count / sizes.length }))
    })
    md.push(chart(
      "batch-sizes.svg",
      Charts.batchSizeDistribution(`Batch-size distribution, closed loop, ${input} inputs`, dist),
      "Batch-size distribution"
    ))
    md.push("")
  }

  // Load
  if (s.load !== undefined) {
    const l = s.load
    md.push("## 4. Latency vs offered load, open loop")
    md.push("")
    md.push(
      "Poisson arrivals at a share of the measured capacity, in process, one text per request; latency from the " +
        "planned send time. Cells: P50 / P99 latency (ms), throughput (req/s), mean batch size, rejected + failed."
    )
    md.push("")
    for (const c of l.capacity) {
      md.push(`**${c.input} inputs**: capacity ${num(c.requestsPerSecond)} req/s (${c.source}).`)
      md.push("")
      const points = l.points.filter((p) => p.input === c.input)
      const levels = [...new Set(points.map((p) => p.level))].sort((a, b) => a - b)
      const systems = [...new Set(points.map((p) => p.system))]
      md.push(table(
        ["system", ...levels.map((lv) => `${lv} %`)],
        systems.map((sys) => [
          sys,
          ...levels.map((lv) => {
            const p = points.find((x) => x.system === sys && x.level === lv)
            if (p === undefined) return "-"
            const w = p.windows
            const fails = w.reduce((a, b) => a + b.rejected + b.errors, 0)
            return `${num(Stats.median(w.map((x) => x.p50Ms)))} / ${num(Stats.median(w.map((x) => x.p99Ms)))} ms, ` +
              `${num(Stats.median(w.map((x) => x.throughput)))}/s, b ${
                num(Stats.median(w.map((x) => x.meanBatchSize)))
              }` +
              (fails > 0 ? `, ${fails} failed` : "")
          })
        ])
      ))
      md.push("")
      const lags = points.flatMap((p) => p.windows.map((w) => w.lagP99Ms)).filter(Number.isFinite)
      if (lags.length > 0) {
        md.push(
          `Generator check: in every window the generator sent 99 % of its requests within ` +
            `${num(Math.max(...lags))} ms of their planned time (worst window; median window ${
              num(Stats.median(lags))
            } ms).`
        )
        md.push("")
      }
      const curve: Array<Charts.LatencyPoint> = points.flatMap((p) => [
        {
          system: p.system,
          level: p.level,
          percentile: "P50" as const,
          latencyMs: Stats.median(p.windows.map((w) => w.p50Ms))
        },
        {
          system: p.system,
          level: p.level,
          percentile: "P99" as const,
          latencyMs: Stats.median(p.windows.map((w) => w.p99Ms))
        }
      ])
      md.push(chart(
        `load-${c.input}.svg`,
        Charts.latencyVsLoad(`Latency vs offered load, ${c.input} inputs (solid P50, dashed P99)`, curve),
        `Latency vs load, ${c.input} inputs`
      ))
      md.push("")
    }
  }

  // Memory
  if (s.memory !== undefined) {
    const m = s.memory
    md.push("## 5. Memory and GC")
    md.push("")
    md.push(
      `Sustained closed loop (${m.concurrency} callers, ${m.seconds} s per window, ${m.input} inputs), adaptive system, in ` +
        "process, input-buffer reuse on and off (two model instances, interleaved)."
    )
    md.push("")
    const reuse = m.variants.find((v) => v.name === "reuse")
    const none = m.variants.find((v) => v.name === "no-reuse")
    md.push(table(
      [
        "variant",
        "req/s",
        "JS heap B/request",
        "input tensors B/request",
        "total B/request",
        "GC pause ms / 1k req",
        "GCs / 1k req",
        "max RSS MiB"
      ],
      m.variants.map((v) => [
        v.name,
        num(Stats.median(v.throughput)),
        num(Stats.median(v.heapBytesPerRequest)),
        num(Stats.median(v.inputBufferBytesPerRequest)),
        num(Stats.median(v.allocatedBytesPerRequest)),
        num(Stats.median(v.gcPauseMsPer1000)),
        num(Stats.median(v.gcCountPer1000)),
        num(Stats.median(v.maxRssMiB))
      ])
    ))
    md.push("")
    if (reuse !== undefined && none !== undefined) {
      md.push(
        `Reuse / no reuse: allocation ${
          spread(Stats.ratioSpread(reuse.allocatedBytesPerRequest, none.allocatedBytesPerRequest), "x")
        } ` +
          `(goal <= 0.7x), input tensors ${
            spread(Stats.ratioSpread(reuse.inputBufferBytesPerRequest, none.inputBufferBytesPerRequest), "x")
          }, ` +
          `GC pause ${spread(Stats.ratioSpread(reuse.gcPauseMsPer1000, none.gcPauseMsPer1000), "x")} (goal <= 0.5x).`
      )
      md.push("")
    }
    md.push(chart(
      "memory.svg",
      Charts.memoryOverTime(m.variants.flatMap((v) =>
        v.series.flatMap((p) => [
          { variant: v.name, t: p.t, what: "RSS", mib: p.rssMiB },
          { variant: v.name, t: p.t, what: "heap used", mib: p.heapMiB }
        ])
      )),
      "Memory over time"
    ))
    md.push("")
  }

  md.push(...LayoutReport.section(results))
  if (s.replicas !== undefined) md.push(...replicasSection(s.replicas))
  if (s.peer !== undefined) md.push(...PeerReport.section(s.peer, chart))
  if (s.policy !== undefined) md.push(...PolicyReport.section(s.policy))

  md.push("## Not measured here")
  md.push("")
  md.push([
    "- GPUs and other execution providers: this machine has none.",
    "- Real pretrained weights: nothing may be downloaded; the built-in models have the real shapes and cost.",
    "- Multi-machine or cross-network latency: every request stays on 127.0.0.1.",
    "- The original system itself: it is not available, so its algorithm is re-implemented and its published " +
    "figures are quoted."
  ].join("\n"))
  md.push("")
  return { markdown: md.join("\n"), charts }
}

const engineLabels: Record<string, string> = {
  bare: "bare pipeline (ceiling)",
  engine: "Batcher, no-op, cap 64 / 1 ms",
  "engine-default": "Batcher, no-op, server defaults",
  "embedder-echo": "Embedder, echo model (tokenize + engine)"
}

/**
 * The mean batch size the adaptive system ran per fixed-length input set, placed on the ceiling
 * line of the nearest sequence length.
 */
const adaptiveChosen = (results: Results) => {
  const model = results.scenarios.model
  const systems = results.scenarios.systems
  if (model === undefined || systems === undefined) return []
  const seqs = [...new Set(model.points.map((p) => p.seq))]
  return systems.runs.filter((r) => r.system === "adaptive" && r.input !== "mix").flatMap((r) => {
    const set = results.inputs.find((i) => i.kind === r.input)
    if (set === undefined || seqs.length === 0) return []
    const seq = seqs.reduce((a, b) => (Math.abs(b - set.maxTokens) < Math.abs(a - set.maxTokens) ? b : a))
    const batch = Stats.mean(r.batchSizes.flat())
    if (!Number.isFinite(batch)) return []
    // interpolate the ceiling line at that batch size (log2 scale)
    const line = model.points.filter((p) => p.seq === seq).sort((a, b) => a.batch - b.batch)
    let y = Number.NaN
    for (let i = 0; i < line.length; i++) {
      const p = line[i]!
      const q = line[i + 1]
      if (q === undefined || batch <= p.batch) {
        y = Stats.median(p.itemsPerSecond)
        if (q === undefined || batch <= p.batch) break
      }
      if (batch > p.batch && batch <= q.batch) {
        const f = (Math.log2(batch) - Math.log2(p.batch)) / (Math.log2(q.batch) - Math.log2(p.batch))
        y = Stats.median(p.itemsPerSecond) + f * (Stats.median(q.itemsPerSecond) - Stats.median(p.itemsPerSecond))
        break
      }
    }
    return [{ seq: `seq ${seq}`, batch, itemsPerSecond: y }]
  })
}

const replicasSection = (r: ReplicasResult): Array<string> => {
  const md = ["## 7. Workers or replicas: one server against several behind HAProxy", ""]
  const [many, one] = [Math.max(...r.clients), Math.min(...r.clients)]
  md.push(
    `${r.cores} cores. Each layout has as many inference threads as there are cores: one server with one ` +
      "2-thread worker or two 1-thread workers (direct, and behind HAProxy with `deploy/haproxy/haproxy.cfg`: " +
      "the balancer's own cost), or two 1-thread servers behind HAProxy. Closed loops, one text per request; " +
      `req/s and P50 / P99 (ms) at ${many} clients, P50 at ${one} client.`
  )
  md.push("")
  for (const input of [...new Set(r.runs.map((x) => x.input))]) {
    const at = (layout: string, clients: number) =>
      r.runs.find((x) => x.input === input && x.layout === layout && x.clients === clients)
    const base = at("1x2 direct", many)
    md.push(`**${input} inputs**`, "")
    md.push(table(
      ["layout", "req/s", "/ 1x2 direct", "P50", "P99", `P50, ${one} client`, "failures"],
      [...new Set(r.runs.map((x) => x.layout))].map((layout) => {
        const m = at(layout, many)!
        const o = at(layout, one)
        return [
          layout,
          spread(Stats.spread(m.throughput)),
          base === undefined ? "-" : spread(Stats.ratioSpread(m.throughput, base.throughput), "x"),
          num(Stats.median(m.p50Ms)),
          num(Stats.median(m.p99Ms)),
          o === undefined ? "-" : num(Stats.median(o.p50Ms)),
          String([...m.failures, ...(o?.failures ?? [])].reduce((a, b) => a + b, 0))
        ]
      })
    ))
    md.push("")
  }
  return md
}
