import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Report from "../src/Report.js"
import type { Results } from "../src/Results.js"
import * as Summary from "../src/Summary.js"

// A stored run with every scenario (merged from real runs, long sample arrays cut to a few values).
const full = JSON.parse(
  Fs.readFileSync(new URL("./fixtures/results-all.json", import.meta.url), "utf8")
) as Results

const headings = (markdown: string) => markdown.split("\n").filter((l) => l.startsWith("## "))

const withScenarios = (scenarios: Results["scenarios"]): Results => ({ ...full, scenarios })

describe("Report.make", () => {
  it("renders the sections of a full run in order and links each chart once under chartDir", () => {
    const report = Report.make(full, "charts")
    expect(headings(report.markdown)).toEqual([
      "## Summary",
      "## How this was measured",
      "## 1. Ceilings",
      "## 2. The original system's experiments, over HTTP",
      "## 3. Systems compared, closed loop",
      "## 4. Latency vs offered load, open loop",
      "## 5. Memory and GC",
      "## 6. Worker layouts",
      "## 7. Workers or replicas: one server against several behind HAProxy",
      "## 8. adabatch against what a Node user would run instead",
      "## 9. Batch-size policy on simulated cost curves (real time)",
      "## Not measured here"
    ])
    const files = report.charts.map((c) => c.file)
    expect(files).toEqual([
      "ceiling.svg",
      "systems.svg",
      "batch-sizes.svg",
      "load-short.svg",
      "memory.svg",
      "peer-load-short.svg"
    ])
    for (const file of files) {
      expect(report.markdown.split(`](charts/${file})`)).toHaveLength(2)
    }
    expect(Report.make(full).markdown).toContain("](./ceiling.svg)")
  })

  it("lists every headline in the summary table and says how each was obtained", () => {
    const heads = Summary.headlines(full)
    const markdown = Report.make(full).markdown
    for (const h of heads) {
      expect(markdown).toContain(`| ${h.label} |`)
      expect(markdown).toContain(`- ${h.label}: ${h.how}.`)
    }
  })

  it("leaves out the sections of scenarios that did not run", () => {
    const report = Report.make(withScenarios({}))
    expect(headings(report.markdown)).toEqual(["## Summary", "## How this was measured", "## Not measured here"])
    expect(report.charts).toEqual([])
    const engineOnly = Report.make(withScenarios({ engine: full.scenarios.engine }))
    expect(headings(engineOnly.markdown)).toContain("## 1. Ceilings")
    expect(engineOnly.markdown).toContain("### Engine ceiling and engine overhead (in process)")
    expect(engineOnly.markdown).not.toContain("### Model ceiling")
  })

  it("warns when other work kept the machine busy and names the scenarios that failed", () => {
    const busy = Report.make({
      ...full,
      machine: { ...full.machine, busyAtStart: 0.6, logicalCpus: 2 },
      failures: [{ scenario: "load", message: "boom\nstack" }, { scenario: "memory", message: "oom" }]
    }).markdown
    expect(busy).toContain("**Warning: the machine was busy** (60 % of its 2 CPUs")
    expect(busy).toContain("**Scenarios that failed in this run:** load (boom); memory (oom)")
    const quiet = Report.make({ ...full, machine: { ...full.machine, busyAtStart: 0.2 }, failures: [] }).markdown
    expect(quiet).not.toContain("Warning: the machine was busy")
    expect(quiet).not.toContain("Scenarios that failed")
  })
})

describe("Summary.headlines", () => {
  it("orders the rows by scenario: peer, ceiling, idle overhead, transport, engine, systems, load, memory, original, layout", () => {
    const group = (label: string) =>
      label.includes("transformers.js")
        ? "peer"
        : label.startsWith("Throughput through EmbeddingModel")
        ? "ceiling"
        : label.startsWith("Idle single-text latency")
        ? "overhead"
        : label.startsWith("adabatch server (echo model)")
        ? "transport"
        : label.startsWith("Engine submits/s")
        ? "engine"
        : label.startsWith("Adaptive / ")
        ? "systems"
        : label.includes("P99 / adaptive P99")
        ? "load"
        : label.includes("buffer reuse / no reuse")
        ? "memory"
        : label.startsWith("HTTP throughput") || label.startsWith("Single-request latency")
        ? "original"
        : label.startsWith("Calibrated layout")
        ? "layout"
        : label
    const groups = Summary.headlines(full).map((h) => group(h.label))
    expect([...new Set(groups)]).toEqual([
      "peer",
      "ceiling",
      "overhead",
      "transport",
      "engine",
      "systems",
      "load",
      "memory",
      "original",
      "layout"
    ])
    // each group's rows are contiguous
    expect(groups.filter((g, i) => i === 0 || g !== groups[i - 1])).toHaveLength(10)
  })

  it("leaves out rows whose scenarios did not run", () => {
    expect(Summary.headlines(withScenarios({}))).toEqual([])
    const memoryOnly = Summary.headlines(withScenarios({ memory: full.scenarios.memory }))
    expect(memoryOnly.map((h) => h.label)).toEqual([
      "Bytes allocated per request, buffer reuse / no reuse",
      "GC pause time per request, buffer reuse / no reuse"
    ])
  })
})
