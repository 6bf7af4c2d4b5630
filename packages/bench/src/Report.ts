/**
 * The Markdown report and its charts, from `results.json` alone (so that `docs/benchmarks.md` can
 * be regenerated from any stored run). Each section is its own module under `report/` (or the
 * scenario's `*Report.ts`); {@link make} puts them in order.
 *
 * @since 0.1.0
 */
import type { TopLevelSpec } from "vega-lite"
import * as LayoutReport from "./LayoutReport.js"
import * as PeerReport from "./PeerReport.js"
import * as PolicyReport from "./PolicyReport.js"
import * as Chart from "./report/Chart.js"
import * as Engine from "./report/Engine.js"
import * as Format from "./report/Format.js"
import * as Header from "./report/Header.js"
import * as Load from "./report/Load.js"
import * as Memory from "./report/Memory.js"
import * as Method from "./report/Method.js"
import * as ModelCeiling from "./report/ModelCeiling.js"
import * as NotMeasured from "./report/NotMeasured.js"
import * as Original from "./report/Original.js"
import * as Replicas from "./report/Replicas.js"
import * as SummaryTable from "./report/SummaryTable.js"
import * as Systems from "./report/Systems.js"
import * as Transport from "./report/Transport.js"
import type { Results } from "./Results.js"

/**
 * Formats a number for a table: thousands separators above 1,000, fewer decimals as it grows.
 *
 * @since 0.1.0
 * @category formatting
 */
export const num: (x: number) => string = Format.num

/**
 * `median (min - max)` of a spread, with a unit.
 *
 * @since 0.1.0
 * @category formatting
 */
export const spread: typeof Format.spread = Format.spread

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
  const { chart, charts } = Chart.collector(chartDir)
  const s = results.scenarios
  const md: Array<string> = [
    ...Header.section(results),
    ...SummaryTable.section(results),
    ...Method.section(),
    ...ModelCeiling.heading(results)
  ]
  if (s.model !== undefined) md.push(...ModelCeiling.section(results, s.model, chart))
  if (s.transport !== undefined) md.push(...Transport.section(s.transport))
  if (s.engine !== undefined) md.push(...Engine.section(s.engine))
  if (s.original !== undefined) md.push(...Original.section(s.original, results.model.name))
  if (s.systems !== undefined) md.push(...Systems.section(results, s.systems, chart))
  if (s.load !== undefined) md.push(...Load.section(s.load, chart))
  if (s.memory !== undefined) md.push(...Memory.section(s.memory, chart))
  md.push(...LayoutReport.section(results))
  if (s.replicas !== undefined) md.push(...Replicas.section(s.replicas))
  if (s.peer !== undefined) md.push(...PeerReport.section(s.peer, chart))
  if (s.policy !== undefined) md.push(...PolicyReport.section(s.policy))
  md.push(...NotMeasured.section())
  return { markdown: md.join("\n"), charts }
}
