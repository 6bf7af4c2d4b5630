/**
 * The report's section 7: one server with several workers against several servers behind HAProxy,
 * one table per input set.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import type { ReplicasResult } from "../scenarios/ReplicasScenario.js"
import { num, spread } from "./Format.js"

/** Each layout at the most clients (throughput, ratio to `1x2 direct`, latency) and at the fewest (P50). */
const inputTable = (r: ReplicasResult, input: string, many: number, one: number): string => {
  const at = (layout: string, clients: number) =>
    r.runs.find((x) => x.input === input && x.layout === layout && x.clients === clients)
  const base = at("1x2 direct", many)
  return table(
    ["layout", "req/s", "/ 1x2 direct", "P50", "P99", `P50, ${one} client`, "failures"],
    [...new Set(r.runs.map((x) => x.layout))].map((layout) => {
      const m = at(layout, many)!
      const o = at(layout, one)
      return [
        layout,
        spread(Stats.spread(m.throughput)),
        base === undefined ? "-" : spread(Stats.ratioSpread(m.throughput, base.throughput), "x"),
        num(Stats.median(m.p50Ms)),
        num(Stats.median(m.p99Ms)),
        o === undefined ? "-" : num(Stats.median(o.p50Ms)),
        String([...m.failures, ...(o?.failures ?? [])].reduce((a, b) => a + b, 0))
      ]
    })
  )
}

/**
 * The Markdown lines of the section.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (r: ReplicasResult): Array<string> => {
  const md = ["## 7. Workers or replicas: one server against several behind HAProxy", ""]
  const [many, one] = [Math.max(...r.clients), Math.min(...r.clients)]
  md.push(
    `${r.cores} cores. Each layout has as many inference threads as there are cores: one server with one ` +
      "2-thread worker or two 1-thread workers (direct, and behind HAProxy with `deploy/haproxy/haproxy.cfg`: " +
      "the balancer's own cost), or two 1-thread servers behind HAProxy. Closed loops, one text per request; " +
      `req/s and P50 / P99 (ms) at ${many} clients, P50 at ${one} client.`
  )
  md.push("")
  for (const input of [...new Set(r.runs.map((x) => x.input))]) {
    md.push(`**${input} inputs**`, "")
    md.push(inputTable(r, input, many, one))
    md.push("")
  }
  return md
}
