/**
 * The engine ceiling in the report: submits/s of the Batcher and the Embedder in process against
 * a bare pipeline (the "Engine ceiling" part of section 1), and its headline rows.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import type { EngineResult } from "../scenarios/EngineScenario.js"
import type { Headline } from "../Summary.js"
import { pct, spread } from "./Format.js"
import { atLeast } from "./Goal.js"

/**
 * The report's name of each engine variant.
 *
 * @since 0.1.0
 * @category constants
 */
export const labels: Record<string, string> = {
  bare: "bare pipeline (ceiling)",
  engine: "Batcher, no-op, cap 64 / 1 ms",
  "engine-default": "Batcher, no-op, server defaults",
  "embedder-echo": "Embedder, echo model (tokenize + engine)"
}

/**
 * The Markdown lines of the engine ceiling.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (e: EngineResult): Array<string> => {
  const md: Array<string> = ["### Engine ceiling and engine overhead (in process)", ""]
  md.push(`${e.concurrency} fibers submit back to back; one Node thread.`, "")
  const bare = e.variants.find((v) => v.name === "bare")
  md.push(table(
    ["variant", "submits/s", "/ bare pipeline", "CPU"],
    e.variants.map((v) => [
      labels[v.name] ?? v.name,
      spread(Stats.spread(v.submitsPerSecond)),
      bare === undefined ? "-" : spread(Stats.ratioSpread(v.submitsPerSecond, bare.submitsPerSecond), "x"),
      pct(Stats.median(v.cpuShare))
    ])
  ))
  md.push("")
  return md
}

/**
 * The headline rows: the Batcher's submits/s, and its ratio to the bare pipeline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (engine: EngineResult): Array<Headline> => {
  const out: Array<Headline> = []
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
  return out
}
