/**
 * The report's "Summary" section: the headline figures of {@link Summary.headlines} in one table,
 * with how each one was obtained below it.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import type { Results } from "../Results.js"
import * as Summary from "../Summary.js"
import { spread } from "./Format.js"

const unitText = (unit: Summary.Headline["unit"]): string => unit === "x" ? "x" : unit === "ms" ? " ms" : "/s"

/**
 * The Markdown lines of the section.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (results: Results): Array<string> => {
  const heads = Summary.headlines(results)
  const md: Array<string> = ["## Summary", ""]
  md.push(
    "Every figure is a ratio or difference taken **inside each repeat** (the two sides measured back to back in " +
      "the same run), then summarised as median (min - max) over the repeats. Absolute figures drift on a shared " +
      "machine; the ratios are what to read.",
    ""
  )
  md.push(table(
    ["figure", "median (min - max)", "goal", "met"],
    heads.map((h) => [
      h.label,
      spread(h.value, unitText(h.unit)),
      h.goal,
      h.met === undefined ? "-" : h.met ? "yes" : "**no**"
    ])
  ))
  md.push("", "<details><summary>How each figure was obtained</summary>", "")
  for (const h of heads) md.push(`- ${h.label}: ${h.how}.`)
  md.push("", "</details>", "")
  return md
}
