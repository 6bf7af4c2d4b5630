/**
 * The container image recipe (`deploy/docker/Dockerfile`) without Docker (no daemon or registry
 * here): its install step (`deploy/docker/install.sh`, the production install) runs into a
 * temporary directory, and the server starts from there as the image starts it (its CMD, its
 * environment, its user), answers `/health` with 200, passes the image's HEALTHCHECK command and
 * stops with 0 on the image's STOPSIGNAL. The test listens on 127.0.0.1, not the image's 0.0.0.0.
 */
import { Haproxy } from "@adabatch/bench"
import { eventually, send } from "@adabatch/testkit/Client"
import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../", import.meta.url))
const dockerfile = Fs.readFileSync(Path.join(root, "deploy/docker/Dockerfile"), "utf8")

/** The instructions of the Dockerfile's last stage (continuation lines joined, comments dropped). */
const finalStage = () => {
  const lines = dockerfile.replace(/\\\n\s*/g, " ").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))
  const last = lines.map((l, i) => (l.startsWith("FROM ") ? i : -1)).filter((i) => i >= 0).pop()!
  const out: Array<[string, string]> = []
  for (const l of lines.slice(last)) {
    const [keyword, ...rest] = l.trim().split(" ")
    out.push([keyword!, rest.join(" ")])
  }
  return out
}

const one = (stage: Array<[string, string]>, keyword: string) => {
  const found = stage.filter(([k]) => k === keyword).map(([, v]) => v)
  expect(found, keyword).toHaveLength(1)
  return found[0]!
}

const envOf = (stage: Array<[string, string]>): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [, v] of stage.filter(([k]) => k === "ENV")) {
    for (const m of v.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, "")
  }
  return env
}

const run = (command: string, args: ReadonlyArray<string>, options: ChildProcess.SpawnSyncOptions = {}) => {
  const r = ChildProcess.spawnSync(command, args, { cwd: root, encoding: "utf8", ...options })
  expect(r.status, `${command} ${args.join(" ")}:\n${r.stdout}${r.stderr}`).toBe(0)
}

describe("container image recipe", () => {
  it("states what the image promises", () => {
    const stage = finalStage()
    const env = envOf(stage)
    expect(env).toMatchObject({ HOST: "0.0.0.0", PORT: "8080", NODE_ENV: "production" })
    expect(one(stage, "VOLUME")).toContain(env["ADABATCH_CACHE_DIR"])
    expect(one(stage, "USER")).toMatch(/^[1-9]\d*:[1-9]\d*$/) // not root, by number
    expect(one(stage, "EXPOSE")).toBe("8080")
    expect(one(stage, "STOPSIGNAL")).toBe("SIGTERM")
    expect(one(stage, "HEALTHCHECK")).toContain("/health")
    expect(JSON.parse(one(stage, "CMD"))).toEqual(["node", "/app/dist/bin.js"])
    // the build stage installs with the script this test runs, and the final stage copies its output
    expect(dockerfile).toContain("sh deploy/docker/install.sh /app")
    expect(dockerfile).toContain("COPY --from=build /app /app")
  })

  it("the production install starts, answers /health with 200, passes the HEALTHCHECK and stops with 0", async () => {
    const stage = finalStage()
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-image-"))
    try {
      Fs.chmodSync(dir, 0o755)
      const app = Path.join(dir, "app")
      const cache = Path.join(dir, "cache")
      Fs.mkdirSync(cache)
      run("pnpm", ["exec", "tsc", "-b", "packages/server"])
      run("sh", ["deploy/docker/install.sh", app])
      // production dependencies only
      const installed = Fs.readdirSync(Path.join(app, "node_modules/.pnpm"))
      expect(installed.some((p) => p.startsWith("onnxruntime-node@"))).toBe(true)
      for (const dev of ["typescript@", "vitest@", "openai@", "vega@"]) {
        expect(installed.filter((p) => p.startsWith(dev)), dev).toEqual([])
      }
      // as the image's user, when this test runs as root
      const asUser = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : {}
      if (process.getuid?.() === 0) Fs.chownSync(cache, 1000, 1000)
      const port = await Haproxy.freePort()
      const env = {
        PATH: process.env["PATH"] ?? "",
        ...envOf(stage),
        HOST: "127.0.0.1",
        PORT: String(port),
        ADABATCH_CACHE_DIR: cache,
        ADABATCH_MODEL: "tiny"
      }
      const [command, ...args] = (JSON.parse(one(stage, "CMD")) as Array<string>).map((a) => a.replace(/^\/app/, app))
      const server = ChildProcess.spawn(command!, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"], ...asUser })
      let output = ""
      server.stdout.on("data", (d: Buffer) => void (output += d.toString()))
      server.stderr.on("data", (d: Buffer) => void (output += d.toString()))
      const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)))
      try {
        await eventually(async () => (await send(port, { path: "/health" })).status === 200, 60_000, "/health 200")
          .catch((e: unknown) => {
            throw new Error(`${String(e)}\n${output}`)
          })
        const embedded = await send(port, { path: "/embed", body: { inputs: "from the image" } })
        expect(embedded.status).toBe(200)
        const healthcheck = JSON.parse(/CMD (\[.*\])$/.exec(one(stage, "HEALTHCHECK"))![1]!) as Array<string>
        run(healthcheck[0]!, healthcheck.slice(1), { env, ...asUser })
        server.kill(one(stage, "STOPSIGNAL") as NodeJS.Signals)
        expect(await exited, output).toBe(0)
      } finally {
        server.kill("SIGKILL")
      }
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
