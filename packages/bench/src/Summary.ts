/**
 * The headline figures at the top of the report: each one a ratio (or difference) taken inside
 * each repeat of the run, summarised as min / median / max, next to its goal. Each scenario's rows
 * come from its report module; {@link headlines} puts them in order.
 *
 * @since 0.1.0
 */
import type * as Stats from "@adabatch/testkit/Stats"
import * as LayoutReport from "./LayoutReport.js"
import * as PeerReport from "./PeerReport.js"
import * as Engine from "./report/Engine.js"
import * as Load from "./report/Load.js"
import * as Memory from "./report/Memory.js"
import * as Original from "./report/Original.js"
import * as Systems from "./report/Systems.js"
import * as Transport from "./report/Transport.js"
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

/**
 * Computes the headline rows available in `results` (rows whose scenarios did not run are left out).
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (results: Results): Array<Headline> => {
  const { engine, load, memory, original, peer, systems, transport } = results.scenarios
  return [
    ...(peer === undefined ? [] : PeerReport.headlines(peer)),
    ...(systems === undefined ? [] : Systems.ceilingHeadlines(systems)),
    ...(original === undefined ? [] : Original.overheadHeadlines(original)),
    ...(transport === undefined ? [] : Transport.headlines(transport)),
    ...(engine === undefined ? [] : Engine.headlines(engine)),
    ...(systems === undefined ? [] : Systems.headlines(systems)),
    ...(load === undefined ? [] : Load.headlines(load)),
    ...(memory === undefined ? [] : Memory.headlines(memory)),
    ...(original === undefined ? [] : Original.headlines(original)),
    ...LayoutReport.headlines(results)
  ]
}
