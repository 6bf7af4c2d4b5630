import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { parse } from "../src/Options.js"
import * as Progress from "../src/Progress.js"
import * as Runner from "../src/Runner.js"
import * as Summary from "../src/Summary.js"

describe("smoke", () => {
  it("runs one tiny in-process scenario end to end with the tiny model and writes the report", async () => {
    const out = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-bench-"))
    try {
      const options = parse([
        "--smoke",
        "--scenario",
        "model,systems",
        "--systems",
        "adaptive,original,tei",
        "--out",
        out,
        "--no-progress"
      ])
      const results = await Effect.runPromise(Runner.run(options, Progress.make({ enabled: false })))
      expect(results.failures).toEqual([])
      const model = results.scenarios.model!
      expect(model.points.map((p) => [p.batch, p.seq])).toEqual([[1, 16], [8, 16]])
      expect(model.points.every((p) => p.itemsPerSecond[0]! > 0)).toBe(true)
      const systems = results.scenarios.systems!
      expect(systems.runs.map((r) => r.system)).toEqual(["adaptive", "original", "tei"])
      for (const r of systems.runs) {
        expect(r.throughput[0]).toBeGreaterThan(0)
        expect(r.failures[0]).toBe(0)
        // the cap of 32 is enforced for the original algorithm, 8 requests for TEI
        const max = Math.max(...r.batchSizes[0]!)
        if (r.system === "original") expect(max).toBeLessThanOrEqual(32)
        if (r.system === "tei") expect(max).toBeLessThanOrEqual(8)
      }
      expect(systems.raw).toHaveLength(1)
      expect(Summary.headlines(results).some((h) => h.label.startsWith("Throughput through EmbeddingModel"))).toBe(true)
      const written = await Runner.writeAll(results)
      expect(written).toEqual([Path.join(out, "report.md")])
      const report = Fs.readFileSync(written[0]!, "utf8")
      expect(report).toContain("## Summary")
      expect(report).toContain("## 3. Systems compared, closed loop")
      for (const svg of ["ceiling.svg", "systems.svg", "batch-sizes.svg"]) {
        expect(Fs.readFileSync(Path.join(out, svg), "utf8")).toMatch(/^<svg /)
      }
      const json = JSON.parse(Fs.readFileSync(Path.join(out, "results.json"), "utf8")) as typeof results
      expect(json.scenarios.systems?.runs[0]?.batchSizes[0]?.length).toBeGreaterThan(0)
    } finally {
      Fs.rmSync(out, { recursive: true, force: true })
    }
  })
})
