/**
 * Several adabatch servers (`adabatch-server`, each its own process) behind HAProxy on loopback:
 * what `pnpm replicas`, the `replicas` benchmark scenario and the scale-out test run. A replica
 * keeps its port when restarted, so the balancer finds it again.
 *
 * @since 0.1.0
 */
import * as ChildProcess from "@adabatch/testkit/ChildProcess"
import * as Path from "node:path"
import * as Haproxy from "./Haproxy.js"

/**
 * The built server command (`pnpm build` first).
 *
 * @since 0.1.0
 * @category constants
 */
export const builtBin: string = Path.resolve(new URL("../../server/dist/bin.js", import.meta.url).pathname)

/**
 * How to start a replica.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReplicaOptions {
  /** Its name in the balancer. */
  readonly name: string
  /** 0: any free port. */
  readonly port: number
  /** Server flags (after `--host 127.0.0.1 --port <port>`). */
  readonly flags: ReadonlyArray<string>
  /** The server's entry point (default {@link builtBin}). */
  readonly bin?: string | undefined
  /** Node options before the entry point (e.g. `--import tsx`). */
  readonly execArgv?: ReadonlyArray<string> | undefined
  readonly env?: Record<string, string> | undefined
  readonly cwd?: string | undefined
  readonly startTimeoutMs?: number | undefined
  /** Also write the server's output to this process's (the local command). */
  readonly inheritOutput?: boolean | undefined
}

/**
 * How a replica process ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Exit = ChildProcess.Exit

/**
 * A running replica.
 *
 * @since 0.1.0
 * @category models
 */
export interface Replica {
  readonly name: string
  readonly port: number
  readonly pid: number
  /** Sends `signal`; resolves when the process has exited (SIGKILL after `killAfterMs`). */
  readonly stop: (signal?: NodeJS.Signals, killAfterMs?: number) => Promise<Exit>
  readonly exited: Promise<Exit>
  /** The last 20 kB of its output. */
  readonly output: () => string
}

const readyLine = /adabatch ready on http:\/\/127\.0\.0\.1:(\d+)/

/**
 * Starts one server and waits for its ready line; rejects with its output if it exits first or
 * is not ready in time (default 120 s: the default model may be generated on first use).
 *
 * @since 0.1.0
 * @category constructors
 */
export const startReplica = async (options: ReplicaOptions): Promise<Replica> => {
  const spawned = ChildProcess.spawn({
    args: [
      ...(options.execArgv ?? []),
      options.bin ?? builtBin,
      "--host",
      "127.0.0.1",
      "--port",
      String(options.port),
      ...options.flags
    ],
    cwd: options.cwd,
    env: options.env,
    // never outlive this process (when it exits without stopping the replica first)
    killOnParentExit: true,
    onOutput: (stream, d) => {
      if (options.inheritOutput === true) process[stream].write(`[${options.name}] ${d.toString()}`)
    }
  })
  const timeoutMs = options.startTimeoutMs ?? 120_000
  const port = await ChildProcess.whenReady(spawned, {
    timeoutMs,
    detect: () => readyLine.exec(spawned.output())?.[1]
  }).catch((e: unknown) => {
    if (!(e instanceof ChildProcess.ChildProcessError)) throw e
    throw new Error(
      e.reason === "timeout"
        ? `replica ${options.name} was not ready within ${timeoutMs} ms:\n${e.output}`
        : `replica ${options.name} exited (code ${e.exit?.code ?? null}, signal ${
          e.exit?.signal ?? null
        }) before it was ready:\n${e.output}`
    )
  })
  return {
    name: options.name,
    port: Number(port),
    pid: spawned.pid,
    exited: spawned.exited,
    output: spawned.output,
    stop: spawned.stop
  }
}

/**
 * Replicas behind HAProxy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cluster {
  readonly replicas: ReadonlyArray<Replica>
  readonly haproxy: Haproxy.Haproxy
  /** Starts replica `index` again on its port (after it stopped). */
  readonly restart: (index: number) => Promise<Replica>
  /** Stops HAProxy and every replica (SIGTERM). */
  readonly stop: () => Promise<void>
}

/**
 * Starts `count` replicas named `replica1`... (one after the other, so they do not compete for the
 * cores while loading), then HAProxy in front of them on `port` (0: a free one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (
  options: Omit<ReplicaOptions, "name" | "port"> & {
    readonly count: number
    readonly port?: number | undefined
    readonly statsPort?: number | undefined
    /** Ports of the replicas (default: free ones). */
    readonly ports?: ReadonlyArray<number> | undefined
  }
): Promise<Cluster> => {
  const replicas: Array<Replica> = []
  const stopAll = async () => {
    await Promise.all(replicas.map((r) => r.stop("SIGTERM")))
  }
  let haproxy: Haproxy.Haproxy
  try {
    for (let i = 0; i < options.count; i++) {
      replicas.push(await startReplica({ ...options, name: `replica${i + 1}`, port: options.ports?.[i] ?? 0 }))
    }
    const port = options.port !== undefined && options.port !== 0 ? options.port : await Haproxy.freePort()
    const statsPort = options.statsPort ?? await Haproxy.freePort()
    haproxy = await Haproxy.start({ port, statsPort, servers: replicas.map((r) => ({ name: r.name, port: r.port })) })
  } catch (e) {
    await stopAll()
    throw e
  }
  return {
    replicas,
    haproxy,
    restart: async (index) => {
      const old = replicas[index]!
      await old.exited
      const replica = await startReplica({ ...options, name: old.name, port: old.port })
      replicas[index] = replica
      return replica
    },
    stop: async () => {
      await haproxy.stop()
      await stopAll()
    }
  }
}
