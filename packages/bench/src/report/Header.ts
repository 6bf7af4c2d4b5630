/**
 * The top of the report: title, what was run and on which machine, a warning when the machine was
 * busy, how to regenerate it, and the scenarios that failed.
 *
 * @since 0.1.0
 */
import * as Machine from "../Machine.js"
import type { Results } from "../Results.js"

const runLine = (results: Results): string => {
  const o = results.options
  return `Run of ${results.startedAt} (${o.preset} preset, ${
    Math.round(results.durationSeconds)
  } s), model \`${results.model.name}\` ` +
    `(${results.model.workers} worker, ${results.model.intraOpNumThreads} intra-op threads), ` +
    `${o.repeats} interleaved repeats of ${o.seconds} s windows` +
    (results.machine.gitCommit === undefined
      ? ""
      : `, commit ${results.machine.gitCommit}${results.machine.gitDirty === true ? " (with local changes)" : ""}`) +
    "."
}

/**
 * The warning paragraph when other work used more than a quarter of the CPUs just before the start
 * (none otherwise). The benchmark's own work raises the load average during the run and lags behind
 * it, so only the CPU time used by other work just before the start tells a busy machine.
 *
 * @since 0.1.0
 * @category formatting
 */
export const busyWarning = (results: Results): Array<string> => {
  const busy = results.machine.busyAtStart ?? 0
  if (busy <= 0.25) return []
  return [
    `**Warning: the machine was busy** (${Math.round(busy * 100)} % of its ${results.machine.logicalCpus} CPUs ` +
    "were in use just before the start, by other work). Absolute figures are depressed and noisy; ratios " +
    "within a repeat are affected less, but look at their spread.",
    ""
  ]
}

/**
 * The Markdown lines of the report's header.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (results: Results): Array<string> => {
  const o = results.options
  const md: Array<string> = [`# adabatch benchmark report`, "", runLine(results), ""]
  md.push(
    `Machine: ${Machine.summary(results.machine)}; at the end ${(results.loadAverageEnd ?? []).join(" / ")}.`,
    ""
  )
  md.push(...busyWarning(results))
  md.push(
    `Regenerate: \`pnpm bench${o.preset === "full" ? " --full" : ""}\` (this report) or \`pnpm bench:docs\` ` +
      `(full run written to docs/benchmarks.md). Raw samples: results.json.`,
    ""
  )
  if (results.failures.length > 0) {
    md.push(
      `**Scenarios that failed in this run:** ` +
        results.failures.map((f) => `${f.scenario} (${f.message.split("\n")[0]})`).join("; "),
      ""
    )
  }
  return md
}
