/**
 * The report's section 5, memory and GC with input-buffer reuse on and off (table, ratios, memory
 * chart), and the headline rows of reuse against no reuse.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import * as Charts from "../Charts.js"
import type { MemoryResult } from "../scenarios/MemoryScenario.js"
import type { Headline } from "../Summary.js"
import type { Chart } from "./Chart.js"
import { num, spread } from "./Format.js"
import { atMost } from "./Goal.js"

const variantTable = (m: MemoryResult): string =>
  table(
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
  )

/** The reuse / no reuse ratios in one sentence (none unless both variants ran). */
const ratios = (m: MemoryResult): Array<string> => {
  const reuse = m.variants.find((v) => v.name === "reuse")
  const none = m.variants.find((v) => v.name === "no-reuse")
  if (reuse === undefined || none === undefined) return []
  return [
    `Reuse / no reuse: allocation ${
      spread(Stats.ratioSpread(reuse.allocatedBytesPerRequest, none.allocatedBytesPerRequest), "x")
    } ` +
    `(goal <= 0.7x), input tensors ${
      spread(Stats.ratioSpread(reuse.inputBufferBytesPerRequest, none.inputBufferBytesPerRequest), "x")
    }, ` +
    `GC pause ${spread(Stats.ratioSpread(reuse.gcPauseMsPer1000, none.gcPauseMsPer1000), "x")} (goal <= 0.5x).`,
    ""
  ]
}

/**
 * The Markdown lines of the section, registering its chart with `chart`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (m: MemoryResult, chart: Chart): Array<string> => [
  "## 5. Memory and GC",
  "",
  `Sustained closed loop (${m.concurrency} callers, ${m.seconds} s per window, ${m.input} inputs), adaptive system, in ` +
  "process, input-buffer reuse on and off (two model instances, interleaved).",
  "",
  variantTable(m),
  "",
  ...ratios(m),
  chart(
    "memory.svg",
    Charts.memoryOverTime(m.variants.flatMap((v) =>
      v.series.flatMap((p) => [
        { variant: v.name, t: p.t, what: "RSS", mib: p.rssMiB },
        { variant: v.name, t: p.t, what: "heap used", mib: p.heapMiB }
      ])
    )),
    "Memory over time"
  ),
  ""
]

/**
 * The headline rows: bytes allocated and GC pause per request, reuse over no reuse (none unless
 * both variants ran).
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (memory: MemoryResult): Array<Headline> => {
  const reuse = memory.variants.find((v) => v.name === "reuse")
  const noReuse = memory.variants.find((v) => v.name === "no-reuse")
  if (reuse === undefined || noReuse === undefined) return []
  const alloc = Stats.ratioSpread(reuse.allocatedBytesPerRequest, noReuse.allocatedBytesPerRequest)
  const gc = Stats.ratioSpread(reuse.gcPauseMsPer1000, noReuse.gcPauseMsPer1000)
  return [{
    label: "Bytes allocated per request, buffer reuse / no reuse",
    value: alloc,
    unit: "x",
    goal: "<= 0.7x (-30 %)",
    met: atMost(alloc, 0.7),
    how: "JS heap (V8 GC profiler) + int64 input tensors (model counter), sustained closed loop"
  }, {
    label: "GC pause time per request, buffer reuse / no reuse",
    value: gc,
    unit: "x",
    goal: "<= 0.5x (-50 %)",
    met: atMost(gc, 0.5),
    how: "sum of V8 GC costs over the window / requests"
  }]
}
