/**
 * HAProxy, the load balancer of `deploy/haproxy/haproxy.cfg`, run on loopback in front of
 * replicas: the committed configuration with its `bind` ports and `server` lines replaced (so the
 * local command, the scale-out test and the `replicas` benchmark all run the configuration users
 * deploy), started in the foreground, with its per-server state read from the stats page.
 *
 * @since 0.1.0
 */
import * as TestChild from "@adabatch/testkit/ChildProcess"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * The committed configuration.
 *
 * @since 0.1.0
 * @category constants
 */
export const configFile: string = Path.resolve(new URL("../../../deploy/haproxy/haproxy.cfg", import.meta.url).pathname)

/**
 * A backend server of the rendered configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  /** Its name in HAProxy (the `X-Served-By` header). */
  readonly name: string
  readonly port: number
}

/**
 * What replaces the committed addresses.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderOptions {
  /** Port of the `embeddings` frontend (on 127.0.0.1). */
  readonly port: number
  /** Port of the stats page (on 127.0.0.1). */
  readonly statsPort: number
  /** The replicas, all on 127.0.0.1. */
  readonly servers: ReadonlyArray<Backend>
}

const sectionOf = (line: string): string | undefined =>
  /^[a-z]/.test(line) ? line.trim().split(/\s+/).slice(0, 2).join(" ") : undefined

/**
 * The configuration `template` with the frontend's and the stats page's `bind` lines and every
 * backend's `server` lines replaced. Throws if the template no longer has them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (template: string, options: RenderOptions): string => {
  let section = ""
  const serversWritten = new Set<string>()
  const replaced = new Set<string>()
  const out: Array<string> = []
  for (const line of template.split("\n")) {
    section = sectionOf(line) ?? section
    const indent = /^\s*/.exec(line)![0]
    const keyword = line.trim().split(/\s+/)[0]
    if (section === "frontend embeddings" && keyword === "bind") {
      out.push(`${indent}bind 127.0.0.1:${options.port}`)
      replaced.add("frontend bind")
    } else if (section === "listen stats" && keyword === "bind") {
      out.push(`${indent}bind 127.0.0.1:${options.statsPort}`)
      replaced.add("stats bind")
    } else if (section.startsWith("backend ") && keyword === "server") {
      if (!serversWritten.has(section)) {
        for (const s of options.servers) out.push(`${indent}server ${s.name} 127.0.0.1:${s.port}`)
        serversWritten.add(section)
        replaced.add(section === "backend adabatch" ? "servers" : section)
      }
    } else out.push(line)
  }
  for (const what of ["frontend bind", "stats bind", "servers"]) {
    if (!replaced.has(what)) throw new Error(`${configFile}: no ${what} line to replace`)
  }
  return out.join("\n")
}

/**
 * Whether the `haproxy` command is installed.
 *
 * @since 0.1.0
 * @category utils
 */
export const available = (): boolean => ChildProcess.spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0

/**
 * A free TCP port on 127.0.0.1 (from the kernel, released at once).
 *
 * @since 0.1.0
 * @category utils
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/**
 * One backend server as the stats page reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerState {
  readonly name: string
  /** `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming back), `MAINT`, `no check`... */
  readonly status: string
  /** Requests in progress on it. */
  readonly current: number
  /** Requests sent to it so far. */
  readonly total: number
}

/**
 * A running HAProxy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Haproxy {
  readonly port: number
  readonly statsPort: number
  readonly pid: number
  /** The rendered configuration. */
  readonly config: string
  /** The backend's servers, from the stats page. */
  readonly servers: () => Promise<Array<ServerState>>
  /** HAProxy's log lines so far (errors, retries and redispatches). */
  readonly log: () => string
  /** Stops it (SIGTERM; SIGKILL after 3 s). */
  readonly stop: () => Promise<void>
}

const get = (port: number, path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const request = Http.get({ host: "127.0.0.1", port, path, agent: false, timeout: 2000 }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (c: Buffer) => chunks.push(c))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      response.on("error", reject)
    })
    request.on("timeout", () => request.destroy(new Error("timeout")))
    request.on("error", reject)
  })

/**
 * Parses the stats page's CSV (`/;csv`) into the servers of backend `adabatch`.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseStats = (csv: string): Array<ServerState> => {
  const lines = csv.split("\n").filter((l) => l.trim() !== "")
  const header = (lines[0] ?? "").replace(/^#\s*/, "").split(",")
  const col = (name: string) => header.indexOf(name)
  const [px, sv, status, scur, stot] = [col("pxname"), col("svname"), col("status"), col("scur"), col("stot")]
  return lines.slice(1).map((l) => l.split(",")).filter((f) =>
    f[px] === "adabatch" && f[sv] !== "BACKEND" && f[sv] !== "FRONTEND"
  ).map((f) => ({ name: f[sv]!, status: f[status]!, current: Number(f[scur]), total: Number(f[stot]) }))
}

/**
 * Checks the rendered configuration (`haproxy -c`), starts HAProxy in the foreground and waits
 * until its stats page answers. Rejects with HAProxy's output if it does not start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = async (options: RenderOptions & { readonly startTimeoutMs?: number }): Promise<Haproxy> => {
  const config = render(Fs.readFileSync(configFile, "utf8"), options)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-haproxy-"))
  const file = Path.join(dir, "haproxy.cfg")
  Fs.writeFileSync(file, config)
  const check = ChildProcess.spawnSync("haproxy", ["-c", "-q", "-f", file], { encoding: "utf8" })
  if (check.status !== 0) throw new Error(`haproxy -c failed:\n${check.stdout}${check.stderr}`)
  const spawned = TestChild.spawn({
    command: "haproxy",
    args: ["-f", file, "-db"],
    tailChars: 50_000,
    killOnParentExit: true
  })
  const { child } = spawned
  const log = spawned.output
  const stop = async () => {
    await spawned.stop("SIGTERM", 3000)
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${log()}`)
    const up = await get(options.statsPort, "/;csv").then((r) => r.status === 200, () => false)
    if (up) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`haproxy did not start:\n${log()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    port: options.port,
    statsPort: options.statsPort,
    pid: spawned.pid,
    config,
    servers: async () => parseStats((await get(options.statsPort, "/;csv")).body),
    log,
    stop
  }
}
