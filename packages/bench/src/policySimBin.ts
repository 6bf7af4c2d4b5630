/**
 * `node packages/bench/dist/policySimBin.js [seed]`: the policy simulator on the TestClock (fast,
 * deterministic): for every cost curve, 1 and 4 workers, 256 closed-loop callers, the adaptive
 * policy against fixed caps 4..128 at saturation, and its median latency against the best cap's
 * at 50 % load. Prints one Markdown row per case (the `policy` bench scenario runs the same in
 * real time).
 *
 * @since 0.1.0
 */
import { CostCurves, PolicyComparison, Simulator } from "@adabatch/core/testing"
import { Effect } from "effect"

const seed = Number(process.argv[2] ?? 13)

const program = Effect.gen(function*() {
  console.log(
    "| curve | workers | best fixed cap | adaptive / best fixed (saturation) | p50 adaptive / best (50 % load) |"
  )
  console.log("|---|---:|---:|---:|---:|")
  for (const curve of CostCurves.curves) {
    for (const workers of [1, 4]) {
      const r = yield* Simulator.onTestClock(PolicyComparison.compare({ curve, workers, seed }), 1000)
      console.log(
        `| ${r.curve} | ${workers} | ${r.best.cap} | ${r.ratio.toFixed(3)} | ${r.half.p50Ratio.toFixed(3)} |`
      )
    }
  }
})

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
