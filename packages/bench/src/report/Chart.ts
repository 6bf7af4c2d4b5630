/**
 * The charts a report links: each section registers a chart spec under a file name and gets back
 * the Markdown image link to put in its text.
 *
 * @since 0.1.0
 */
import type { TopLevelSpec } from "vega-lite"

/**
 * One chart of the report: the file it is written to and its Vega-Lite spec.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChartFile {
  readonly file: string
  readonly spec: TopLevelSpec
}

/**
 * Registers a chart and returns its Markdown image link (`alt` is the link's text).
 *
 * @since 0.1.0
 * @category models
 */
export type Chart = (file: string, spec: TopLevelSpec, alt: string) => string

/**
 * A chart registry whose links point into `chartDir`; `charts` lists what was registered, in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const collector = (chartDir: string): { readonly chart: Chart; readonly charts: Array<ChartFile> } => {
  const charts: Array<ChartFile> = []
  const chart: Chart = (file, spec, alt) => {
    charts.push({ file, spec })
    return `![${alt}](${chartDir}/${file})`
  }
  return { chart, charts }
}
