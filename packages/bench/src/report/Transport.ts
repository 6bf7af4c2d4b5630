/**
 * The transport ceiling in the report: each server's req/s, latency and CPU over HTTP (the
 * "Transport ceiling" part of section 1), and the headline ratios of the adabatch server against
 * bare echo servers.
 *
 * @since 0.1.0
 */
import { table } from "@adabatch/testkit/Markdown"
import * as Stats from "@adabatch/testkit/Stats"
import type { TransportResult } from "../scenarios/TransportScenario.js"
import type { Headline } from "../Summary.js"
import { num, pct, spread } from "./Format.js"
import { atLeast } from "./Goal.js"

/**
 * The Markdown lines of the transport ceiling.
 *
 * @since 0.1.0
 * @category formatting
 */
export const section = (t: TransportResult): Array<string> => {
  const md: Array<string> = ["### Transport ceiling and the server's own overhead", ""]
  md.push(`Closed loop, ${t.concurrency} keep-alive connections, body \`${t.body}\`; each server in its own process.`)
  md.push("")
  md.push(table(
    ["server", "req/s", "P50 latency", "generator CPU", "server CPU", "wrk -t1 -c50", "errors"],
    t.servers.map((x) => [
      x.name,
      spread(Stats.spread(x.throughput)),
      `${num(Stats.median(x.p50Ms))} ms`,
      pct(Stats.median(x.generatorCpuShare)),
      pct(Stats.median(x.serverCpuShare)),
      x.wrk === undefined ? "-" : num(x.wrk),
      String(x.errors.reduce((a, b) => a + b, 0))
    ])
  ))
  md.push("")
  md.push(
    "CPU shares are of one core. A server near 100 % with the generator well below it means the server, not the " +
      "generator, set the figure.",
    ""
  )
  return md
}

/**
 * The headline rows: the adabatch server (echo model) against the bare `effect/http` and
 * `node:http` echo servers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const headlines = (transport: TransportResult): Array<Headline> => {
  const out: Array<Headline> = []
  const echo = transport.servers.find((s) => s.name === "adabatch-echo")
  const effect = transport.servers.find((s) => s.name === "effect-http")
  const node = transport.servers.find((s) => s.name === "node-http")
  if (echo !== undefined && effect !== undefined) {
    const value = Stats.ratioSpread(echo.throughput, effect.throughput)
    out.push({
      label: "adabatch server (echo model) req/s / bare effect/http echo",
      value,
      unit: "x",
      goal: ">= 0.6x",
      met: atLeast(value, 0.6),
      how: `closed loop, ${transport.concurrency} keep-alive connections, each server in its own process`
    })
  }
  if (echo !== undefined && node !== undefined) {
    const value = Stats.ratioSpread(echo.throughput, node.throughput)
    out.push({
      label: "adabatch server (echo model) req/s / bare node:http echo",
      value,
      unit: "x",
      goal: "(information)",
      met: undefined,
      how: "the same against the transport ceiling"
    })
  }
  return out
}
