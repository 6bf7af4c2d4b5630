/**
 * The report's section 2, the original system's experiments over HTTP (throughput, idle latency,
 * burst batch sizes, the queue test) next to its published figures, and their headline rows.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import { originalFigures, type OriginalResult } from "../scenarios/OriginalScenario.js"
import type { Headline } from "../Summary.js"
import { num, pct, spread } from "./Format.js"
import { atMost } from "./Goal.js"

const throughput = (x: OriginalResult): Array<string> => [
  "### Throughput",
  "",
  table(
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
  ),
  "",
  "\"time / request\" is total time / requests, which is what the original reported as \"mean latency\"; " +
  "\"mean latency\" here is the mean of the per-request latencies.",
  ""
]

const distributionRow = (name: string, d: Stats.Distribution): Array<string> => [
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

const idle = (x: OriginalResult): Array<string> => {
  const http = Stats.distribution(x.idle.httpMs.flat())
  const inProc = Stats.distribution(x.idle.inProcessMs.flat())
  const raw = Stats.distribution(x.idle.rawMs.flat())
  const rawBackToBack = Stats.distribution(x.idle.rawBackToBackMs.flat())
  const of = originalFigures.idle
  return [
    "### Single-request latency at an idle server",
    "",
    table(["ms", "mean", "median", "P95", "P99", "min", "max", "std-dev", "n"], [
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
      distributionRow("adabatch over HTTP", http),
      distributionRow("adabatch in process (Embedder.embed)", inProc),
      ...(raw.count > 0
        ? [distributionRow(`raw session.run, batch 1 x seq ${x.idle.tokens}, after the same pause`, raw)]
        : []),
      ...(rawBackToBack.count > 0
        ? [distributionRow(`raw session.run, batch 1 x seq ${x.idle.tokens}, back to back`, rawBackToBack)]
        : [])
    ]),
    "",
    `Text: "${x.idle.text}" (${x.idle.tokens} tokens); ${x.idle.gapMs} ms pause before each request and each raw run.`,
    ""
  ]
}

const burst = (x: OriginalResult): Array<string> => [
  "### Batch efficiency: a burst of 200 concurrent requests",
  "",
  table(
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
  ),
  "",
  "Read from the server's `/metrics` (`adabatch_batch_size` histogram, before and after the burst), so min " +
  "and max are known to the bucket. The warm-up traffic of the adaptive policies is not in the window.",
  ""
]

const queue = (x: OriginalResult): Array<string> => [
  "### Queue test",
  "",
  table(
    ["requests sent at once", "answered", "rejected (429/503)", "lost", "time"],
    x.queue.map((q) => [String(q.requests), String(q.ok), String(q.rejected), String(q.lost), `${num(q.seconds)} s`])
  ),
  "",
  `Original: ${originalFigures.queue.note}. Short inputs (~16 tokens).`,
  ""
]

/**
 * The Markdown lines of the section; `model` is the name of the model the server ran.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (x: OriginalResult, model: string): Array<string> => [
  "## 2. The original system's experiments, over HTTP",
  "",
  `Against the real server (defaults, model \`${model}\`) in a child process. The original figures ` +
  "come from its authors' analysis (a Python service on other hardware and another model): compare the " +
  "shapes, not the absolute numbers.",
  "",
  ...throughput(x),
  ...idle(x),
  ...burst(x),
  ...queue(x)
]

const medians = (xs: ReadonlyArray<ReadonlyArray<number>>) => xs.map((x) => Stats.median(x))

/**
 * The headline rows of idle latency minus one raw batch-1 `session.run`, in process and over HTTP
 * (none when the raw runs were not measured).
 *
 * @since 0.1.0
 * @category constructors
 */
export const overheadHeadlines = (original: OriginalResult): Array<Headline> => {
  if (original.idle.rawMs.length === 0) return []
  const raw = medians(original.idle.rawMs)
  const inProcess = Stats.differenceSpread(medians(original.idle.inProcessMs), raw)
  const http = Stats.differenceSpread(medians(original.idle.httpMs), raw)
  return [{
    label: "Idle single-text latency - one raw batch-1 session.run (in process)",
    value: inProcess,
    unit: "ms",
    goal: "<= 1.5 ms",
    met: atMost(inProcess, 1.5),
    how: `median of ${original.idle.inProcessMs[0]?.length ?? 0} sequential Embedder.embed calls minus the median ` +
      `raw session.run at batch 1 x seq ${original.idle.tokens} in a worker, per repeat; requests and raw runs ` +
      `each follow a ${original.idle.gapMs} ms idle pause`
  }, {
    label: "Idle single-text latency - one raw batch-1 session.run (over HTTP)",
    value: http,
    unit: "ms",
    goal: "<= 1.5 ms",
    met: atMost(http, 1.5),
    how: "the same over HTTP/1.1 keep-alive to the server in a child process"
  }]
}

/**
 * The headline rows against the original's own targets: HTTP throughput at 50 concurrent requests
 * and the idle single-request latency.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (original: OriginalResult): Array<Headline> => {
  const out: Array<Headline> = []
  const fifty = original.throughput.find((t) => t.concurrency === 50)
  if (fifty !== undefined) {
    out.push({
      label: "HTTP throughput, 500 requests at 50 concurrent (original: 3,108/s, target 5,000+/s)",
      value: Stats.spread(fifty.throughput),
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
  return out
}
