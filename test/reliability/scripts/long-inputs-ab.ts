/**
 * A/B of long inputs against two builds of the server: the event-loop stall they cause and the
 * main thread's CPU time, while a probe sends a small request every 5 ms.
 *
 *   node --import tsx test/reliability/scripts/long-inputs-ab.ts <before bin.js> <after bin.js> [model] [rounds]
 *
 * e.g. with the commit before the tokenization changes built in a second checkout:
 *
 *   git worktree add /tmp/before d45a2a7 && (cd /tmp/before && pnpm install --frozen-lockfile && pnpm build)
 *   pnpm build && node --import tsx test/reliability/scripts/long-inputs-ab.ts \
 *     /tmp/before/packages/server/dist/bin.js packages/server/dist/bin.js tiny 1
 *
 * Each build serves in turn (`--request-timeout-ms 300000`, so no batch hits the run timeout); each
 * case is sent 3 times in a row. `stall`: the longest event-loop delay meanwhile (it also grows when
 * other work takes the cores); `mainCPU`: the main thread's CPU time over the case's window, probe
 * requests included (it does not). Loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const [beforeBin, afterBin] = process.argv.slice(2)
const model = process.argv[4] ?? "default"
const rounds = Number(process.argv[5] ?? 1)
if (beforeBin === undefined || afterBin === undefined) {
  process.stderr.write("usage: long-inputs-ab.ts <before bin.js> <after bin.js> [model] [rounds]\n")
  process.exit(2)
}
const preload = fileURLToPath(new URL("./lag-preload.mjs", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "adabatch-ab-"))
const MB = Math.floor(1.9 * 1024 * 1024)

const cases: ReadonlyArray<readonly [string, string | null]> = ([
  ["none (probe only)", null],
  ["1.9 MB of ! (truncate false)", { inputs: "!".repeat(MB), truncate: false }],
  ["1.9 MB of ! (truncate true)", { inputs: "!".repeat(MB), truncate: true }],
  ["CJK 1.9 MB", { inputs: "中".repeat(Math.floor(MB / 3)), truncate: true }],
  ["emoji 1.9 MB", { inputs: "😀".repeat(Math.floor(MB / 4)), truncate: true }],
  ["32 x 60 KB of !", { inputs: Array.from({ length: 32 }, () => "!".repeat(60 * 1024)), truncate: true }],
  ["1.9 MB with spaces", { inputs: "ab ".repeat(Math.floor(MB / 3)), truncate: true }],
  ["1.9 MB of 100-letter words", { inputs: ("q".repeat(100) + " ").repeat(Math.floor(MB / 101)), truncate: true }]
] as const).map(([name, body]) => [name, body === null ? null : JSON.stringify(body)] as const)

interface Row {
  readonly status: number | string | undefined
  readonly attackMs: number
  readonly probeMaxMs: number
  readonly stallMs: number
  readonly cpuMs: number
  readonly windowMs: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const post = (port: number, body: string, agent: Http.Agent | false) =>
  new Promise<{ readonly status: number | string | undefined; readonly ms: number }>((resolve) => {
    const t0 = performance.now()
    const request = Http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/embed",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      response.resume()
      response.on("end", () => resolve({ status: response.statusCode, ms: performance.now() - t0 }))
    })
    request.on("error", (e: Error & { code?: string }) => resolve({ status: e.code, ms: performance.now() - t0 }))
    request.end(body)
  })

const ready = (port: number) =>
  new Promise<boolean>((resolve) => {
    Http.get(`http://127.0.0.1:${port}/ready`, (response) => {
      response.resume()
      resolve(response.statusCode === 200)
    }).on("error", () => resolve(false))
  })

const startServer = async (bin: string, lagFile: string): Promise<{ port: number; child: ChildProcess }> => {
  if (existsSync(lagFile)) rmSync(lagFile)
  const port = 18500 + Math.floor(Math.random() * 400)
  const child = spawn(
    process.execPath,
    ["--import", preload, bin, "--port", String(port), "--model", model, "--request-timeout-ms", "300000"],
    { env: { ...process.env, LAG_FILE: lagFile }, stdio: "ignore" }
  )
  for (let i = 0; i < 240 && !(await ready(port)); i++) await sleep(500)
  return { port, child }
}

/** `[wall ms, delay ms, cpu ms]` samples around `[from, to]`. */
const samples = (file: string, from: number, to: number) =>
  readFileSync(file, "utf8").trim().split("\n").map((line) => line.split(" ").map(Number)).filter((s) =>
    s[0]! >= from - 100 && s[0]! <= to + 150
  )

const runCase = async (port: number, lagFile: string, body: string | null): Promise<Row> => {
  const probeAgent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
  let running = true
  let probeMaxMs = 0
  const probe = (async () => {
    while (running) {
      probeMaxMs = Math.max(probeMaxMs, (await post(port, "{\"inputs\":\"hello world\"}", probeAgent)).ms)
      await sleep(5)
    }
  })()
  await sleep(200)
  const from = Date.now()
  let status: Row["status"]
  let attackMs = 0
  if (body === null) await sleep(1_500)
  else {
    for (let k = 0; k < 3; k++) {
      const o = await post(port, body, false)
      status ??= o.status
      attackMs = Math.max(attackMs, o.ms)
    }
  }
  await sleep(200)
  running = false
  await probe
  probeAgent.destroy()
  const to = Date.now()
  await sleep(300)
  const window = samples(lagFile, from, to)
  return {
    status,
    attackMs: Math.round(attackMs),
    probeMaxMs: Math.round(probeMaxMs),
    stallMs: window.filter((s) => s[0]! >= from).reduce((m, s) => Math.max(m, s[1]!), 0),
    cpuMs: window.length < 2 ? 0 : window[window.length - 1]![2]! - window[0]![2]!,
    windowMs: to - from
  }
}

const results = new Map<string, { before: Array<Row>; after: Array<Row> }>()
for (let round = 0; round < rounds; round++) {
  for (const [label, bin] of [["before", beforeBin], ["after", afterBin]] as const) {
    const lagFile = join(dir, `lag-${label}.txt`)
    const { child, port } = await startServer(bin, lagFile)
    const warm = new Http.Agent({ keepAlive: true, maxSockets: 1 })
    for (let i = 0; i < 20; i++) await post(port, `{"inputs":"warm up the model ${i}"}`, warm)
    warm.destroy()
    for (const [name, body] of cases) {
      const row = await runCase(port, lagFile, body)
      const entry = results.get(name) ?? { before: [], after: [] }
      entry[label].push(row)
      results.set(name, entry)
    }
    child.kill("SIGTERM")
    await sleep(1_500)
  }
}
rmSync(dir, { recursive: true, force: true })

const format = (rows: ReadonlyArray<Row>) =>
  rows.map((r) =>
    `${r.status ?? "-"} stall ${r.stallMs} ms, probe max ${r.probeMaxMs} ms, slowest answer ${r.attackMs} ms, ` +
    `mainCPU ${r.cpuMs} ms in ${r.windowMs} ms`
  ).join(" | ")
console.log(`model ${model}, ${rounds} round(s), load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`)
for (const [name, rows] of results) {
  console.log(`${name}\n  before: ${format(rows.before)}\n  after:  ${format(rows.after)}`)
}
