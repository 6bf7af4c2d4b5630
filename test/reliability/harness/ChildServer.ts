/**
 * The real server as a child process: `node --import tsx --import fixtures/child-preload.mjs
 * packages/server/src/bin.ts <flags>`, on 127.0.0.1 port 0. The bound address is read from the
 * ready log line (`adabatch ready on http://127.0.0.1:<port>: ...`). The preload reports the
 * child's memory and, at exit, whether any inference worker thread outlived it.
 */
import * as ChildProcess from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const bin = join(root, "packages/server/src/bin.ts")
const preload = fileURLToPath(new URL("../fixtures/child-preload.mjs", import.meta.url))

/** A memory sample of the child. */
export interface MemorySample {
  readonly t: number
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly arrayBuffers: number
  /** Main-thread event-loop utilisation since the previous sample (0..1). */
  readonly elu: number
  /** Longest event-loop delay since the previous sample, ms. */
  readonly lagMaxMs: number
}

/** What the preload wrote when the child exited. */
export interface ExitReport {
  readonly code: number
  readonly workersStarted: number
  readonly workersAlive: number
  readonly peakRss: number | undefined
}

/** How the child ended. */
export interface Ended {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** ms from `stop` (the signal) to the exit. */
  readonly afterMs: number
  readonly report: ExitReport | undefined
  readonly stderr: string
}

export interface ChildServer {
  readonly port: number
  readonly url: string
  readonly pid: number
  /** The ready log line. */
  readonly readyLine: string
  /** Memory samples so far (every `sampleMs`). */
  readonly memory: () => Array<MemorySample>
  /** Current RSS from `/proc/<pid>/status` (bytes). */
  readonly rss: () => number
  /** Sends `signal` (default SIGTERM) and resolves when the child has exited (SIGKILL after `killAfterMs`). */
  readonly stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<Ended>
  /** Resolves when the child exits by itself. */
  readonly exited: Promise<Ended>
}

/** Starts the server with `flags` (after `--host 127.0.0.1 --port 0`); rejects if it is not ready in time. */
export const start = (
  flags: ReadonlyArray<string>,
  options: { readonly startTimeoutMs?: number; readonly sampleMs?: number; readonly env?: Record<string, string> } = {}
): Promise<ChildServer> =>
  new Promise((resolve, reject) => {
    const dir = mkdtempSync(join(tmpdir(), "adabatch-reliability-"))
    const probe = join(dir, "probe.jsonl")
    const child = ChildProcess.spawn(
      process.execPath,
      ["--import", "tsx", "--import", preload, bin, "--host", "127.0.0.1", "--port", "0", ...flags],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          ...options.env,
          ADABATCH_RELIABILITY_PROBE: probe,
          ADABATCH_RELIABILITY_SAMPLE_MS: String(options.sampleMs ?? 250)
        }
      }
    )
    let stdout = ""
    let stderr = ""
    let ready = false
    let signalAt = 0
    const lines = (): Array<any> => {
      if (!existsSync(probe)) return []
      return readFileSync(probe, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l))
    }
    const exited = new Promise<Ended>((done) => {
      child.once("exit", (code, signal) => {
        const exit = lines().find((l) => l.type === "exit")
        done({
          code,
          signal,
          afterMs: signalAt === 0 ? 0 : performance.now() - signalAt,
          report: exit === undefined
            ? undefined
            : {
              code: exit.code,
              workersStarted: exit.workersStarted,
              workersAlive: exit.workersAlive,
              peakRss: exit.peakRss
            },
          stderr
        })
        rmSync(dir, { recursive: true, force: true })
      })
    })
    const timer = setTimeout(() => {
      if (ready) return
      child.kill("SIGKILL")
      reject(
        new Error(`the server did not get ready within ${options.startTimeoutMs ?? 60_000} ms:\n${stdout}${stderr}`)
      )
    }, options.startTimeoutMs ?? 60_000)
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString("utf8")).slice(-20_000)
    })
    child.stdout.on("data", (d: Buffer) => {
      stdout = (stdout + d.toString("utf8")).slice(-20_000)
      if (ready) return
      const match = /^.*adabatch ready on (http:\/\/127\.0\.0\.1:(\d+)):.*$/m.exec(stdout)
      if (match === null) return
      ready = true
      clearTimeout(timer)
      resolve({
        port: Number(match[2]),
        url: match[1]!,
        pid: child.pid!,
        readyLine: match[0],
        memory: () => lines().filter((l) => l.type === "memory"),
        rss: () => {
          try {
            const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
            return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
          } catch {
            return 0
          }
        },
        stop: (signal = "SIGTERM", killAfterMs = 30_000) => {
          if (child.exitCode === null && child.signalCode === null) {
            signalAt = performance.now()
            child.kill(signal)
            const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs)
            void exited.then(() => clearTimeout(kill))
          }
          return exited
        },
        exited
      })
    })
    child.once("exit", (code, signal) => {
      if (ready) return
      clearTimeout(timer)
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before it was ready:\n${stdout}${stderr}`))
    })
  })
