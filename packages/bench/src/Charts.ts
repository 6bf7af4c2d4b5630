/**
 * Charts as Vega-Lite specifications, rendered to SVG in Node (vega-lite compiles, vega renders
 * headless with `renderer: "none"`). No browser, no canvas.
 *
 * @since 0.1.0
 */
import * as Vega from "vega"
import * as VegaLite from "vega-lite"
import type { TopLevelSpec } from "vega-lite"

/**
 * Renders a Vega-Lite spec to an SVG document.
 *
 * @since 0.1.0
 * @category rendering
 */
export const toSvg = async (spec: TopLevelSpec): Promise<string> => {
  const compiled = VegaLite.compile(spec).spec
  const view = new Vega.View(Vega.parse(compiled), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

const base = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  background: "white",
  config: { font: "Helvetica, Arial, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 } }
} as const

/**
 * A point of a latency-vs-load curve.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyPoint {
  readonly system: string
  readonly level: number
  readonly percentile: "P50" | "P99"
  readonly latencyMs: number
}

/**
 * Latency (P50 solid, P99 dashed; log scale) against offered load, one colour per system.
 *
 * @since 0.1.0
 * @category charts
 */
export const latencyVsLoad = (title: string, points: ReadonlyArray<LatencyPoint>): TopLevelSpec => ({
  ...base,
  title,
  width: 520,
  height: 320,
  data: { values: points.filter((p) => Number.isFinite(p.latencyMs) && p.latencyMs > 0) as Array<LatencyPoint> },
  mark: { type: "line", point: true },
  encoding: {
    x: { field: "level", type: "quantitative", title: "offered load (% of measured capacity)" },
    y: { field: "latencyMs", type: "quantitative", title: "latency (ms, log scale)", scale: { type: "log" } },
    color: { field: "system", type: "nominal", title: "system" },
    strokeDash: { field: "percentile", type: "nominal", title: "percentile" },
    detail: { field: "percentile" }
  }
})

/**
 * A point of the model ceiling curve, or a batch size the adaptive policy chose.
 *
 * @since 0.1.0
 * @category models
 */
export interface CeilingPoint {
  readonly seq: string
  readonly batch: number
  readonly itemsPerSecond: number
  readonly low: number
  readonly high: number
}

/**
 * Raw `session.run` items/s against batch size (log 2 scale), one line per sequence length, with
 * min-max bars over repeats; the batch sizes the adaptive policy ran (mean per input set) are
 * marked on the matching line.
 *
 * @since 0.1.0
 * @category charts
 */
export const ceilingCurve = (
  points: ReadonlyArray<CeilingPoint>,
  chosen: ReadonlyArray<{ readonly seq: string; readonly batch: number; readonly itemsPerSecond: number }>
): TopLevelSpec => ({
  ...base,
  title: "Model ceiling: raw session.run throughput vs batch size (markers: batch sizes adaptive ran)",
  width: 520,
  height: 320,
  layer: [
    {
      data: { values: points as Array<CeilingPoint> },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "batch", type: "quantitative", title: "batch size", scale: { type: "log", base: 2 } },
        y: { field: "itemsPerSecond", type: "quantitative", title: "items/s" },
        color: { field: "seq", type: "nominal", title: "sequence length" }
      }
    },
    {
      data: { values: points as Array<CeilingPoint> },
      mark: { type: "rule" },
      encoding: {
        x: { field: "batch", type: "quantitative", scale: { type: "log", base: 2 } },
        y: { field: "low", type: "quantitative" },
        y2: { field: "high" },
        color: { field: "seq", type: "nominal" }
      }
    },
    {
      data: { values: chosen as Array<{ seq: string; batch: number; itemsPerSecond: number }> },
      mark: { type: "point", shape: "triangle-up", size: 160, filled: true },
      encoding: {
        x: { field: "batch", type: "quantitative", scale: { type: "log", base: 2 } },
        y: { field: "itemsPerSecond", type: "quantitative" },
        color: { field: "seq", type: "nominal" }
      }
    }
  ]
})

/**
 * Share of batches of each size, one panel per system.
 *
 * @since 0.1.0
 * @category charts
 */
export const batchSizeDistribution = (
  title: string,
  rows: ReadonlyArray<{ readonly system: string; readonly size: number; readonly share: number }>
): TopLevelSpec => ({
  ...base,
  title,
  data: { values: rows as Array<{ system: string; size: number; share: number }> },
  mark: { type: "bar" },
  width: 220,
  height: 110,
  encoding: {
    facet: { field: "system", type: "nominal", columns: 3, title: null },
    x: { field: "size", type: "quantitative", title: "batch size", bin: { maxbins: 32 } },
    y: { aggregate: "sum", field: "share", type: "quantitative", title: "share of batches", axis: { format: "%" } },
    color: { field: "system", type: "nominal", legend: null }
  }
} as TopLevelSpec)

/**
 * Closed-loop throughput per system (median bar, min-max rule), one panel per input set.
 *
 * @since 0.1.0
 * @category charts
 */
export const systemsThroughput = (
  title: string,
  rows: ReadonlyArray<
    {
      readonly system: string
      readonly input: string
      readonly median: number
      readonly min: number
      readonly max: number
    }
  >
): TopLevelSpec => ({
  ...base,
  title,
  data: { values: [...rows] },
  facet: { column: { field: "input", type: "nominal", title: "inputs" } },
  spec: {
    width: 200,
    height: 220,
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x: { field: "system", type: "nominal", title: null, sort: null },
          y: { field: "median", type: "quantitative", title: "requests/s" },
          color: { field: "system", type: "nominal", legend: null }
        }
      },
      {
        mark: { type: "rule" },
        encoding: {
          x: { field: "system", type: "nominal", sort: null },
          y: { field: "min", type: "quantitative" },
          y2: { field: "max" }
        }
      }
    ]
  },
  resolve: { scale: { y: "independent" } }
} as TopLevelSpec)

/**
 * RSS and heap over a sustained run, per variant.
 *
 * @since 0.1.0
 * @category charts
 */
export const memoryOverTime = (
  rows: ReadonlyArray<{ readonly variant: string; readonly t: number; readonly what: string; readonly mib: number }>
): TopLevelSpec => ({
  ...base,
  title: "Memory over a sustained run (first repeat)",
  width: 520,
  height: 260,
  data: { values: [...rows] },
  mark: { type: "line" },
  encoding: {
    x: { field: "t", type: "quantitative", title: "ms since start" },
    y: { field: "mib", type: "quantitative", title: "MiB" },
    color: { field: "variant", type: "nominal", title: "variant" },
    strokeDash: { field: "what", type: "nominal", title: "" }
  }
})
