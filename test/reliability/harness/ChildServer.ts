/**
 * The real server as a child process: `node --import tsx --import fixtures/child-preload.mjs
 * packages/server/src/bin.ts <flags>`, on 127.0.0.1 port 0. The bound address is read from the
 * ready log line (`adabatch ready on http://127.0.0.1:<port>: ...`). The preload reports the
 * child's memory and, at exit, whether any inference worker thread outlived it. Spawning, waiting
 * and stopping are the testkit's `ChildProcess`.
 */
import * as ChildProcess from "@adabatch/testkit/ChildProcess"
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

/** The running server process. */
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

type ProbeLine =
  | ({ readonly type: "memory" } & MemorySample)
  | ({ readonly type: "exit" } & ExitReport)

/** Starts the server with `flags` (after `--host 127.0.0.1 --port 0`); rejects if it is not ready in time. */
export const start = async (
  flags: ReadonlyArray<string>,
  options: { readonly startTimeoutMs?: number; readonly sampleMs?: number; readonly env?: Record<string, string> } = {}
): Promise<ChildServer> => {
  const dir = mkdtempSync(join(tmpdir(), "adabatch-reliability-"))
  const probe = join(dir, "probe.jsonl")
  const spawned = ChildProcess.spawn({
    args: ["--import", "tsx", "--import", preload, bin, "--host", "127.0.0.1", "--port", "0", ...flags],
    cwd: root,
    env: {
      ...options.env,
      ADABATCH_RELIABILITY_PROBE: probe,
      ADABATCH_RELIABILITY_SAMPLE_MS: String(options.sampleMs ?? 250)
    }
  })
  const lines = (): Array<ProbeLine> => {
    if (!existsSync(probe)) return []
    return readFileSync(probe, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as ProbeLine)
  }
  const exited = spawned.exited.then(({ code, signal }): Ended => {
    const exit = lines().find((l) => l.type === "exit")
    const signalAt = spawned.signalledAt()
    rmSync(dir, { recursive: true, force: true })
    return {
      code,
      signal,
      afterMs: signalAt === undefined ? 0 : performance.now() - signalAt,
      report: exit === undefined
        ? undefined
        : {
          code: exit.code,
          workersStarted: exit.workersStarted,
          workersAlive: exit.workersAlive,
          peakRss: exit.peakRss
        },
      stderr: spawned.stderr()
    }
  })
  const startTimeoutMs = options.startTimeoutMs ?? 60_000
  const ready = await ChildProcess.whenReady(spawned, {
    timeoutMs: startTimeoutMs,
    detect: () => /^.*adabatch ready on (http:\/\/127\.0\.0\.1:(\d+)):.*$/m.exec(spawned.stdout()) ?? undefined
  }).catch((e: unknown) => {
    if (!(e instanceof ChildProcess.ChildProcessError)) throw e
    const output = `${e.stdout}${e.stderr}`
    throw new Error(
      e.reason === "timeout"
        ? `the server did not get ready within ${startTimeoutMs} ms:\n${output}`
        : `the server exited (code ${e.exit?.code ?? null}, signal ${
          e.exit?.signal ?? null
        }) before it was ready:\n${output}`
    )
  })
  return {
    port: Number(ready[2]),
    url: ready[1]!,
    pid: spawned.pid,
    readyLine: ready[0],
    memory: () => lines().flatMap((l) => (l.type === "memory" ? [l] : [])),
    rss: () => {
      try {
        const status = readFileSync(`/proc/${spawned.pid}/status`, "utf8")
        return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
      } catch {
        return 0
      }
    },
    stop: (signal = "SIGTERM", killAfterMs = 30_000) => spawned.stop(signal, killAfterMs).then(() => exited),
    exited
  }
}
