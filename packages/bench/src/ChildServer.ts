/**
 * Runs a server under test in a child process, so that the load generator never shares its event
 * loop. The child speaks the small protocol of `servers/childProtocol.mjs`: it announces its port
 * over IPC once it listens, reports its CPU and memory on request and stops on SIGTERM. Spawning,
 * waiting and stopping are the testkit's `ChildProcess`.
 *
 * @since 0.1.0
 */
import * as ChildProcess from "@adabatch/testkit/ChildProcess"
import { Data, Effect, type Scope } from "effect"

/**
 * The child failed to start, or died.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChildServerError extends Data.TaggedError("ChildServerError")<{
  readonly entry: string
  readonly reason: string
}> {
  override get message(): string {
    return `server process ${this.entry}: ${this.reason}`
  }
}

/**
 * CPU time used so far and current memory of the child.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChildStats {
  readonly cpuUserMs: number
  readonly cpuSystemMs: number
  readonly rss: number
  readonly heapUsed: number
}

/**
 * A running child server.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChildServer {
  readonly name: string
  readonly port: number
  readonly pid: number
  readonly stats: () => Promise<ChildStats>
}

type Message = { type?: string; port?: number; message?: string } & Partial<ChildStats>

/** The reason of a failed start, worded as this module always did. */
const reasonOf = (e: ChildProcess.ChildProcessError, timeoutMs: number): string => {
  const stderr = e.stderr ? `: ${e.stderr}` : ""
  switch (e.reason) {
    case "timeout":
      return `did not listen within ${timeoutMs} ms${stderr}`
    case "exit":
      return `exited (code ${e.exit?.code ?? null}, signal ${e.exit?.signal ?? null}) before listening${stderr}`
    case "failed":
      return `failed to start: ${e.detail}`
    case "spawn":
      return e.detail
  }
}

/** Answers `stats` requests of the running child, in order. */
const statsOf = (name: string, spawned: ChildProcess.Spawned): () => Promise<ChildStats> => {
  const { child } = spawned
  const waiting: Array<(s: ChildStats) => void> = []
  child.on("message", (raw) => {
    const msg = raw as Message
    if (msg.type !== "stats") return
    waiting.shift()?.({
      cpuUserMs: msg.cpuUserMs ?? 0,
      cpuSystemMs: msg.cpuSystemMs ?? 0,
      rss: msg.rss ?? 0,
      heapUsed: msg.heapUsed ?? 0
    })
  })
  return () =>
    new Promise<ChildStats>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${name} is not running`))
      waiting.push(resolve)
      child.send({ type: "stats" })
    })
}

/**
 * Starts `entry` (a plain JavaScript module) with `config` as JSON in argv[2]; waits for it to
 * listen (at most `startTimeoutMs`). The process is stopped (SIGTERM, then SIGKILL after 5 s) when
 * the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: {
  readonly name: string
  readonly entry: string
  readonly config?: unknown
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly env?: Record<string, string> | undefined
  readonly startTimeoutMs?: number | undefined
}): Effect.Effect<ChildServer, ChildServerError, Scope.Scope> => {
  const timeoutMs = options.startTimeoutMs ?? 60_000
  return Effect.acquireRelease(
    Effect.suspend(() => {
      const spawned = ChildProcess.spawn({
        args: [...(options.execArgv ?? []), options.entry, JSON.stringify(options.config ?? {})],
        env: options.env,
        ipc: true,
        stdout: false,
        tailChars: 4000
      })
      const stats = statsOf(options.name, spawned)
      const listening = ChildProcess.whenReady(spawned, {
        timeoutMs,
        detect: (raw) => {
          const msg = (raw ?? {}) as Message
          if (msg.type === "failed") throw new Error(msg.message ?? "")
          return msg.type === "listening" && typeof msg.port === "number" ? msg.port : undefined
        }
      })
      return Effect.tryPromise({
        try: () => listening,
        catch: (e) =>
          new ChildServerError({
            entry: options.entry,
            reason: e instanceof ChildProcess.ChildProcessError ? reasonOf(e, timeoutMs) : String(e)
          })
      }).pipe(
        Effect.map((port) => ({
          spawned,
          server: { name: options.name, port, pid: spawned.pid, stats }
        }))
      )
    }),
    ({ spawned }) => Effect.promise(() => spawned.stop("SIGTERM", 5000))
  ).pipe(Effect.map(({ server }) => server))
}
