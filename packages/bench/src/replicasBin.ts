#!/usr/bin/env node
/**
 * `pnpm replicas [--replicas N] [--port P] [--stats-port S] [-- server flags]`: starts N adabatch
 * servers on 127.0.0.1 (ports P+1 ... P+N) and HAProxy in front of them on P with
 * `deploy/haproxy/haproxy.cfg`, until Ctrl-C (then HAProxy stops and every server drains). Server
 * settings come from the environment and the flags after `--`; unless they set the threads, each
 * server gets an equal share of the cores (`--threads cores/N`), so N replicas do not oversubscribe
 * the machine.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import * as Haproxy from "./Haproxy.js"
import * as Replicas from "./Replicas.js"

const usage = `pnpm replicas [--replicas N] [--port P] [--stats-port S] [-- server flags]

Starts N adabatch servers on 127.0.0.1 ports P+1..P+N behind HAProxy on P (deploy/haproxy/haproxy.cfg).
  --replicas N      servers to start (default 2)
  --port P          the balancer's port (default 8080)
  --stats-port S    HAProxy's stats page (default 8404)
  -- flags          passed to every server, e.g. -- --model tiny --workers 2
Each server gets --threads <cores / N> unless the flags or ADABATCH_THREADS say otherwise.`

const main = async () => {
  const args = process.argv.slice(2)
  const split = args.indexOf("--")
  const own = split === -1 ? args : args.slice(0, split)
  const serverFlags = split === -1 ? [] : args.slice(split + 1)
  const { values } = parseArgs({
    args: own,
    options: {
      replicas: { type: "string", default: "2" },
      port: { type: "string", default: "8080" },
      "stats-port": { type: "string", default: "8404" },
      help: { type: "boolean", short: "h" }
    }
  })
  if (values.help === true) return console.log(usage)
  const count = Number(values.replicas)
  const port = Number(values.port)
  const statsPort = Number(values["stats-port"])
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(port) || port < 1 || port + count > 65535) {
    throw new Error(`invalid --replicas or --port\n\n${usage}`)
  }
  if (!Haproxy.available()) throw new Error("haproxy is not installed (Debian: apt-get install haproxy)")
  const threadsSet = serverFlags.includes("--threads") || (process.env["ADABATCH_THREADS"] ?? "auto") !== "auto"
  const threads = Math.max(1, Math.floor(availableParallelism() / count))
  const flags = threadsSet ? serverFlags : [...serverFlags, "--threads", String(threads)]
  const ports = Array.from({ length: count }, (_, i) => port + 1 + i)
  const cluster = await Replicas.start({ count, flags, port, statsPort, ports, inheritOutput: true })
  console.log(
    `HAProxy on http://127.0.0.1:${port} in front of ${
      cluster.replicas.map((r) => `${r.name} (:${r.port})`).join(", ")
    }; stats on http://127.0.0.1:${statsPort}/ . Ctrl-C stops them all.`
  )
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    cluster.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
  for (const [i, r] of cluster.replicas.entries()) {
    void r.exited.then((e) => {
      if (!stopping) console.error(`${cluster.replicas[i]?.name ?? r.name} exited (${e.code ?? e.signal})`)
    })
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e))
  process.exit(1)
})
