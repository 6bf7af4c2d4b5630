/**
 * Scenario `layout` end to end with the tiny model: the start-up calibration, every layout on
 * short, long and mixed inputs, and the report's section and headlines.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { parse } from "../src/Options.js"
import * as Progress from "../src/Progress.js"
import * as Report from "../src/Report.js"
import * as Runner from "../src/Runner.js"
import * as Summary from "../src/Summary.js"

describe("layout scenario", () => {
  it("calibrates, then measures every layout on every input set, and reports the calibrated one against the best", async () => {
    const out = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-bench-layout-"))
    try {
      const options = parse(["--smoke", "--scenario", "layout", "--layouts", "1x2,2x1", "--out", out, "--no-progress"])
      expect(options.layouts).toEqual([{ workers: 1, threads: 2 }, { workers: 2, threads: 1 }])
      const results = await Effect.runPromise(Runner.run(options, Progress.make({ enabled: false })))
      expect(results.failures).toEqual([])
      const layout = results.scenarios.layout!
      expect(layout.runs.map((r) => `${r.layout} ${r.input}`)).toEqual([
        "1 x 2 short",
        "2 x 1 short",
        "1 x 2 long",
        "2 x 1 long",
        "1 x 2 mix",
        "2 x 1 mix"
      ])
      for (const r of layout.runs) {
        expect(r.throughput[0]).toBeGreaterThan(0)
        expect(r.failures[0]).toBe(0)
      }
      expect(layout.idle.map((x) => x.latenciesMs[0]!.length)).toEqual([10, 10])
      const calibration = layout.calibration!
      expect(calibration.report.source).toBe("calibrated")
      expect(calibration.report.candidates.length).toBeGreaterThan(0)
      expect(calibration.report.reason.startsWith(`${calibration.chosen}: highest throughput`)).toBe(true)
      const heads = Summary.headlines(results).filter((h) => h.label.startsWith("Calibrated layout"))
      // chosen vs best per input set and the idle ratio, when the chosen layout was among those measured
      if (["1 x 2", "2 x 1"].includes(calibration.chosen)) expect(heads).toHaveLength(4)
      const markdown = Report.make(results).markdown
      expect(markdown).toContain("## 6. Worker layouts")
      expect(markdown).toContain(`chose **${calibration.chosen}**`)
      expect(markdown).toContain("| 2 x 1 |")
    } finally {
      Fs.rmSync(out, { recursive: true, force: true })
    }
  })
})
