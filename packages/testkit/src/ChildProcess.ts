/**
 * A server under test in a child process: spawned, awaited until it says it is ready (a log line
 * or an IPC message), and stopped with a signal and a SIGKILL fallback. The benchmarks' servers
 * (`ChildServer` in the bench, its replicas) and the reliability suite's real server are all
 * started this way; each wraps it with what it reads from its own child (a port in a log line, an
 * IPC protocol, a memory probe).
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import * as NodeChildProcess from "node:child_process"
import { performance } from "node:perf_hooks"

/**
 * How a child ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/**
 * The child did not get ready: it was not ready in time (`timeout`, then killed), it exited first
 * (`exit`), it reported a failure (`failed`: the readiness check threw) or it could not be spawned
 * (`spawn`). `stdout`, `stderr` and `output` (both, interleaved) are the tails captured so far.
 *
 * @since 0.1.0
 * @category errors
 */
export class ChildProcessError extends Data.TaggedError("ChildProcessError")<{
  readonly reason: "timeout" | "exit" | "failed" | "spawn"
  readonly detail: string
  readonly exit: Exit | undefined
  readonly stdout: string
  readonly stderr: string
  readonly output: string
}> {
  override get message(): string {
    return `child process ${this.reason}: ${this.detail}`
  }
}

/**
 * A spawned child.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spawned {
  readonly child: NodeChildProcess.ChildProcess
  readonly pid: number
  /** Resolves when the child has exited (by itself or stopped). */
  readonly exited: Promise<Exit>
  /** The last `tailChars` characters the child wrote to stdout, to stderr, and to both. */
  readonly stdout: () => string
  readonly stderr: () => string
  readonly output: () => string
  /** Whether the child is still running. */
  readonly alive: () => boolean
  /** `performance.now()` when `stop` first signalled the child, if it did. */
  readonly signalledAt: () => number | undefined
  /**
   * Sends `signal` (default SIGTERM) if the child still runs, SIGKILL after `killAfterMs` (default
   * 30 s) if it has not exited by then; resolves when it has exited.
   */
  readonly stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<Exit>
}

/**
 * What to spawn.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnOptions {
  /** Default: this Node.js binary. */
  readonly command?: string | undefined
  readonly args: ReadonlyArray<string>
  readonly cwd?: string | undefined
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Open an IPC channel (for `process.send` in the child). */
  readonly ipc?: boolean | undefined
  /** Whether stdout is read (default `true`; stderr always is). */
  readonly stdout?: boolean | undefined
  /** How many characters of output to keep (default 20,000). */
  readonly tailChars?: number | undefined
  /** Sees every chunk of output (e.g. to echo it). */
  readonly onOutput?: ((stream: "stdout" | "stderr", chunk: Buffer) => void) | undefined
  /** SIGKILL the child if this process exits while it still runs. */
  readonly killOnParentExit?: boolean | undefined
}

/**
 * Spawns a child.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spawn = (options: SpawnOptions): Spawned => {
  const stdio: Array<NodeChildProcess.IOType | "ipc"> = ["ignore", options.stdout === false ? "ignore" : "pipe", "pipe"]
  if (options.ipc === true) stdio.push("ipc")
  const child: NodeChildProcess.ChildProcess = NodeChildProcess.spawn(
    options.command ?? process.execPath,
    [...options.args],
    { ...(options.cwd === undefined ? {} : { cwd: options.cwd }), stdio, env: { ...process.env, ...options.env } }
  )
  const tail = options.tailChars ?? 20_000
  const text = { stdout: "", stderr: "", output: "" }
  const read = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const s = chunk.toString("utf8")
    text[stream] = (text[stream] + s).slice(-tail)
    text.output = (text.output + s).slice(-tail)
    options.onOutput?.(stream, chunk)
  }
  // a spawn failure is reported by `whenReady`; without a listener it would throw
  child.on("error", () => {})
  child.stdout?.on("data", read("stdout"))
  child.stderr?.on("data", read("stderr"))
  const orphan = () => child.kill("SIGKILL")
  if (options.killOnParentExit === true) process.once("exit", orphan)
  const exited = new Promise<Exit>((done) =>
    child.once("exit", (code, signal) => {
      process.off("exit", orphan)
      done({ code, signal })
    })
  )
  const alive = () => child.exitCode === null && child.signalCode === null
  let signalledAt: number | undefined
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    output: () => text.output,
    alive,
    signalledAt: () => signalledAt,
    stop: (signal = "SIGTERM", killAfterMs = 30_000) => {
      if (alive()) {
        signalledAt ??= performance.now()
        child.kill(signal)
        const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs)
        void exited.then(() => clearTimeout(kill))
      }
      return exited
    }
  }
}

/**
 * Waits until `detect` returns a value: it is called after every chunk of output and with every
 * IPC message. Rejects with {@link ChildProcessError} when `detect` throws (the child is then
 * killed), when the child exits first, cannot be spawned, or is not ready within `timeoutMs`
 * (then it is killed with SIGKILL).
 *
 * @example
 * ```ts
 * import { ChildProcess } from "@adabatch/testkit"
 *
 * const child = ChildProcess.spawn({ args: ["-e", "console.log('listening on 4000'); setInterval(() => {}, 1000)"] })
 * const port = await ChildProcess.whenReady(child, {
 *   timeoutMs: 10_000,
 *   detect: () => /listening on (\d+)/.exec(child.stdout())?.[1]
 * })
 * await child.stop()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const whenReady = <A>(
  spawned: Spawned,
  options: { readonly timeoutMs: number; readonly detect: (message?: unknown) => A | undefined }
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const { child } = spawned
    let settled = false
    const fail = (reason: ChildProcessError["reason"], detail: string, exit?: Exit) => {
      if (settled) return
      settled = true
      cleanup()
      if (reason !== "exit" && reason !== "spawn") child.kill("SIGKILL")
      reject(
        new ChildProcessError({
          reason,
          detail,
          exit,
          stdout: spawned.stdout(),
          stderr: spawned.stderr(),
          output: spawned.output()
        })
      )
    }
    const check = (message?: unknown) => {
      if (settled) return
      let value: A | undefined
      try {
        value = options.detect(message)
      } catch (e) {
        return fail("failed", e instanceof Error ? e.message : String(e))
      }
      if (value === undefined) return
      settled = true
      cleanup()
      resolve(value)
    }
    const onOutput = () => check()
    const onMessage = (message: unknown) => check(message)
    const onError = (e: Error) => fail("spawn", e.message)
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout?.off("data", onOutput)
      child.stderr?.off("data", onOutput)
      child.off("message", onMessage)
      child.off("error", onError)
    }
    const timer = setTimeout(() => fail("timeout", `not ready within ${options.timeoutMs} ms`), options.timeoutMs)
    child.stdout?.on("data", onOutput)
    child.stderr?.on("data", onOutput)
    child.on("message", onMessage)
    child.on("error", onError)
    void spawned.exited.then((exit) =>
      fail("exit", `exited (code ${exit.code}, signal ${exit.signal}) before it was ready`, exit)
    )
  })
