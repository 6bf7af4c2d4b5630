// The protocol between the benchmark and a server it runs in a child process (see ChildServer.ts).
// The child reads its configuration from argv[2] (JSON), tells the parent its port over IPC once
// it listens, answers `{ type: "stats" }` with its CPU and memory use, and exits on SIGTERM or
// when the parent goes away.

/**
 * The child's configuration, passed as JSON in argv[2].
 * @returns {Record<string, unknown>}
 */
export const readConfig = () => {
  const raw = process.argv[2]
  if (raw === undefined || raw === "") return {}
  return /** @type {Record<string, unknown>} */ (JSON.parse(raw))
}

/**
 * Tells the parent the server listens on `port`, and starts answering stats requests.
 * @param {number} port
 * @param {() => Promise<void>} close stops the server gracefully
 */
export const announce = (port, close) => {
  const send = process.send?.bind(process)
  if (send === undefined) {
    console.log(JSON.stringify({ type: "listening", port }))
    return
  }
  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    const timer = setTimeout(() => process.exit(0), 5000)
    timer.unref()
    close().then(() => process.exit(0), () => process.exit(1))
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
  process.on("disconnect", stop)
  process.on("message", (msg) => {
    const m = /** @type {{ type?: unknown }} */ (msg)
    if (m.type === "stats") {
      const cpu = process.cpuUsage()
      const mem = process.memoryUsage()
      send({
        type: "stats",
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        rss: mem.rss,
        heapUsed: mem.heapUsed
      })
    } else if (m.type === "close") stop()
  })
  send({ type: "listening", port })
}

/**
 * Reports a start-up failure to the parent and exits.
 * @param {unknown} error
 */
export const fail = (error) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
  if (process.send !== undefined) process.send({ type: "failed", message })
  else console.error(message)
  process.exit(1)
}
