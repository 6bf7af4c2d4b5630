/**
 * The `adabatch-server` command as a child process (`node --import tsx src/bin.ts`, with the
 * workspace packages mapped to their TypeScript sources): configuration errors, start-up failures,
 * and SIGTERM under load.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
const tsconfig = fileURLToPath(new URL("./tsconfig.bin.json", import.meta.url))

interface Run {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const run = (env: Record<string, string>, args: ReadonlyArray<string> = []): Run => {
  const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, output: () => output, exited }
}

/** Waits for the ready line and returns the URL it names. */
const ready = async (r: Run): Promise<string> => {
  const deadline = Date.now() + 50_000 // a busy 2-core machine can take long to start a process
  for (;;) {
    const m = /adabatch ready on (http:\/\/[^:]+:\d+):/.exec(r.output())
    if (m !== null) return m[1]!
    if (r.child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${r.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe.concurrent("adabatch-server", () => {
  it("--help lists every variable and flag and exits 0", async () => {
    const r = run({}, ["--help"])
    expect(await r.exited).toBe(0)
    expect(r.output()).toContain("--max-batch-size <int>")
    expect(r.output()).toContain("[ADABATCH_MAX_BATCH_SIZE]")
  })

  it("an invalid value stops start-up with exit code 2 and names the variable or flag", async () => {
    const fromEnv = run({ ADABATCH_MAX_BATCH_SIZE: "abc" })
    expect(await fromEnv.exited).toBe(2)
    expect(fromEnv.output()).toBe(
      "adabatch-server: invalid value \"abc\" for environment variable ADABATCH_MAX_BATCH_SIZE: " +
        "expected an integer from 1 to 4096\n"
    )
    const fromFlag = run({}, ["--overflow", "drop"])
    expect(await fromFlag.exited).toBe(2)
    expect(fromFlag.output()).toContain(
      "invalid value \"drop\" for flag --overflow: expected one of reject, backpressure"
    )
  })

  it("a model that cannot load stops start-up with exit code 1, the path and the reason", async () => {
    const r = run({ PORT: "0", ADABATCH_MODEL: "/nonexistent/adabatch-model" })
    expect(await r.exited).toBe(1)
    expect(r.output()).toMatch(/^adabatch-server: cannot load model from \/nonexistent\/adabatch-model: .+/m)
  })

  it("a port in use stops start-up with exit code 1", async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const r = run({ PORT: String(port), ADABATCH_MODEL: "echo" })
      expect(await r.exited).toBe(1)
      expect(r.output()).toMatch(/adabatch-server: cannot listen: listen EADDRINUSE/)
    } finally {
      blocker.close()
    }
  })

  it("flags win over the environment", async () => {
    const r = run({ PORT: "1", ADABATCH_MODEL: "missing-model", ADABATCH_MAX_CLIENT_BATCH: "2" }, [
      "--port=0",
      "--model",
      "echo",
      "--max-client-batch",
      "3"
    ])
    const url = await ready(r)
    try {
      const info = await fetch(`${url}/info`).then((res) => res.json() as Promise<any>)
      expect(info.model_id).toBe("echo")
      expect(info.max_client_batch_size).toBe(3)
    } finally {
      r.child.kill("SIGTERM")
      expect(await r.exited).toBe(0)
    }
  })

  it("on SIGTERM under load, finishes every accepted request, answers the rest 503, and exits 0", async () => {
    const r = run({ PORT: "0", ADABATCH_MODEL: "echo", ADABATCH_DRAIN_TIMEOUT_MS: "10000" })
    const url = new URL(await ready(r))
    const inputs = Array.from({ length: 16 }, (_, i) => `request text number ${i} `.repeat(20))
    const body = JSON.stringify({ inputs })

    /** One request on a fresh connection: its status, or the connection error. */
    const send = () =>
      new Promise<{ status: number; vectors: number } | { error: string }>((resolve) => {
        const req = http.request({
          host: url.hostname,
          port: url.port,
          path: "/embed",
          method: "POST",
          agent: false,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
        }, (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (d) => (text += d))
          res.on("end", () => {
            const json = JSON.parse(text)
            resolve({ status: res.statusCode!, vectors: Array.isArray(json) ? json.length : 0 })
          })
          res.on("error", (e) => resolve({ error: e.message }))
        })
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }))
        req.end(body)
      })

    const outcomes: Array<{ status: number; vectors: number } | { error: string }> = []
    let signalled = false
    // each client sends until it is told the server is going away (503) or cannot connect
    const client = async () => {
      for (;;) {
        const outcome = await send()
        outcomes.push(outcome)
        if (!signalled && outcomes.length >= 150) {
          signalled = true
          r.child.kill("SIGTERM")
        }
        if ("error" in outcome || outcome.status !== 200) return
      }
    }
    await Promise.all(Array.from({ length: 12 }, client))
    expect(await r.exited).toBe(0)

    // A connection the server never accepted (refused once it stopped listening, after the drain)
    // carried no accepted request; any other connection error would be a lost or reset request.
    const errors = outcomes.filter((o): o is { error: string } => "error" in o)
    expect(errors.filter((e) => e.error !== "ECONNREFUSED")).toEqual([])
    const answered = outcomes.filter((o): o is { status: number; vectors: number } => !("error" in o))
    const ok = answered.filter((o) => o.status === 200)
    expect(ok.length).toBeGreaterThanOrEqual(150)
    for (const o of ok) expect(o.vectors).toBe(16)
    expect(answered.filter((o) => o.status !== 200).every((o) => o.status === 503)).toBe(true)
    // every client stopped on a 503 or a refused connection, never on a reset
    expect(answered.filter((o) => o.status === 503).length + errors.length).toBe(12)
    expect(answered.filter((o) => o.status === 503).length).toBeGreaterThan(0)
  })
})
