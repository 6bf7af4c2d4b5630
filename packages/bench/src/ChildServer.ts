/**
 * Runs a server under test in a child process, so that the load generator never shares its event
 * loop. The child speaks the small protocol of `servers/childProtocol.mjs`: it announces its port
 * over IPC once it listens, reports its CPU and memory on request and stops on SIGTERM.
 *
 * @since 0.1.0
 */
import { Data, Effect, type Scope } from "effect"
import * as ChildProcess from "node:child_process"

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
}): Effect.Effect<ChildServer, ChildServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: ChildServer; child: ChildProcess.ChildProcess }, ChildServerError>((resume) => {
      const child = ChildProcess.spawn(
        process.execPath,
        [...(options.execArgv ?? []), options.entry, JSON.stringify(options.config ?? {})],
        {
          stdio: ["ignore", "ignore", "pipe", "ipc"],
          env: { ...process.env, ...options.env }
        }
      )
      let stderr = ""
      child.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString("utf8")).slice(-4000)
      })
      let settled = false
      const done = (e: ChildServerError | { server: ChildServer; child: ChildProcess.ChildProcess }) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (e instanceof ChildServerError) {
          child.kill("SIGKILL")
          resume(Effect.fail(e))
        } else resume(Effect.succeed(e))
      }
      const timer = setTimeout(
        () =>
          done(
            new ChildServerError({
              entry: options.entry,
              reason: `did not listen within ${options.startTimeoutMs ?? 60_000} ms${stderr ? `: ${stderr}` : ""}`
            })
          ),
        options.startTimeoutMs ?? 60_000
      )
      const waiting: Array<(s: ChildStats) => void> = []
      child.on("message", (raw) => {
        const msg = raw as { type?: string; port?: number; message?: string } & Partial<ChildStats>
        if (msg.type === "listening" && typeof msg.port === "number") {
          done({
            child,
            server: {
              name: options.name,
              port: msg.port,
              pid: child.pid ?? -1,
              stats: () =>
                new Promise<ChildStats>((resolve, reject) => {
                  if (!child.connected) return reject(new Error(`${options.name} is not running`))
                  waiting.push(resolve)
                  child.send({ type: "stats" })
                })
            }
          })
        } else if (msg.type === "failed") {
          done(new ChildServerError({ entry: options.entry, reason: `failed to start: ${msg.message ?? ""}` }))
        } else if (msg.type === "stats") {
          waiting.shift()?.({
            cpuUserMs: msg.cpuUserMs ?? 0,
            cpuSystemMs: msg.cpuSystemMs ?? 0,
            rss: msg.rss ?? 0,
            heapUsed: msg.heapUsed ?? 0
          })
        }
      })
      child.on("exit", (code, signal) => {
        done(
          new ChildServerError({
            entry: options.entry,
            reason: `exited (code ${code}, signal ${signal}) before listening${stderr ? `: ${stderr}` : ""}`
          })
        )
      })
      child.on("error", (e) => done(new ChildServerError({ entry: options.entry, reason: e.message })))
    }),
    ({ child }) =>
      Effect.callback<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000)
        child.once("exit", () => {
          clearTimeout(kill)
          resume(Effect.void)
        })
        child.kill("SIGTERM")
      })
  ).pipe(Effect.map(({ server }) => server))
