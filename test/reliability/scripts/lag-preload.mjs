// @ts-check
/**
 * Preload for `long-inputs-ab.mjs`: every 100 ms, appends `<wall ms> <longest event-loop delay ms>
 * <main-thread CPU ms>` to the file named by `LAG_FILE` (the CPU time from `/proc`, Linux only).
 */
import { appendFileSync, readFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { isMainThread } from "node:worker_threads"

const file = process.env["LAG_FILE"]
const cpuMs = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  return (Number(fields[11]) + Number(fields[12])) * 10
}

if (isMainThread && file !== undefined && file !== "") {
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  setInterval(() => {
    appendFileSync(file, `${Date.now()} ${(delay.max / 1e6).toFixed(1)} ${cpuMs()}\n`)
    delay.reset()
  }, 100).unref()
}
