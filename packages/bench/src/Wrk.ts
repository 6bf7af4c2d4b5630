/**
 * An optional cross-check of closed-loop HTTP throughput with `wrk` (a C load generator), when it
 * is installed: if our generator and wrk agree, the generator was not the bottleneck.
 *
 * @since 0.1.0
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * Whether `wrk` is on the PATH.
 *
 * @since 0.1.0
 * @category utils
 */
export const available = (): boolean => {
  try {
    ChildProcess.execFileSync("wrk", ["--version"], { stdio: "ignore" })
    return true
  } catch (e) {
    // wrk --version exits 1 but runs
    return (e as { status?: number }).status === 1
  }
}

/**
 * Runs `wrk -t1 -c<connections> -d<seconds>s` with a JSON POST body; resolves with requests/s, or
 * `undefined` if wrk failed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (options: {
  readonly url: string
  readonly body: string
  readonly connections: number
  readonly seconds: number
}): Promise<number | undefined> =>
  new Promise((resolve) => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-wrk-"))
    const script = Path.join(dir, "post.lua")
    Fs.writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = ${
        JSON.stringify(options.body)
      }\nwrk.headers["Content-Type"] = "application/json"\n`
    )
    ChildProcess.execFile(
      "wrk",
      ["-t1", `-c${options.connections}`, `-d${Math.max(1, Math.round(options.seconds))}s`, "-s", script, options.url],
      { timeout: (options.seconds + 30) * 1000 },
      (error, stdout) => {
        Fs.rmSync(dir, { recursive: true, force: true })
        if (error !== null) return resolve(undefined)
        const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout)
        const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)
        resolve(m === null || non2xx !== null ? undefined : Number(m[1]))
      }
    )
  })
