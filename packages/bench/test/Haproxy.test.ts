import { describe, expect, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Haproxy from "../src/Haproxy.js"

const template = Fs.readFileSync(Haproxy.configFile, "utf8")
const check = (file: string) => ChildProcess.spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" })

describe("Haproxy", () => {
  it("the committed configuration passes haproxy -c, and so does its rendering for other ports", () => {
    expect(Haproxy.available(), "haproxy is not installed (apt-get install haproxy)").toBe(true)
    const committed = check(Haproxy.configFile)
    expect(committed.status, committed.stdout + committed.stderr).toBe(0)
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-haproxy-test-"))
    try {
      const file = Path.join(dir, "haproxy.cfg")
      Fs.writeFileSync(
        file,
        Haproxy.render(template, {
          port: 18080,
          statsPort: 18404,
          servers: [{ name: "a", port: 18081 }, { name: "b", port: 18082 }, { name: "c", port: 18083 }]
        })
      )
      const rendered = check(file)
      expect(rendered.status, rendered.stdout + rendered.stderr).toBe(0)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("render replaces only the addresses", () => {
    const out = Haproxy.render(template, { port: 1, statsPort: 2, servers: [{ name: "only", port: 3 }] })
    const lines = out.split("\n").map((l) => l.trim())
    expect(lines.filter((l) => l.startsWith("bind "))).toEqual(["bind 127.0.0.1:1", "bind 127.0.0.1:2"])
    // in both backends: the one checked on /ready and the fallback checked by TCP
    expect(lines.filter((l) => l.startsWith("server "))).toEqual(["server only 127.0.0.1:3", "server only 127.0.0.1:3"])
    const kept = (text: string) => text.split("\n").filter((l) => !/^\s*(bind|server) /.test(l))
    expect(kept(out)).toEqual(kept(template))
    expect(() => Haproxy.render("global\n", { port: 1, statsPort: 2, servers: [] })).toThrow(/no frontend bind/)
  })

  it("parses the stats page's CSV", () => {
    const csv = [
      "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status",
      "embeddings,FRONTEND,,,3,5,4096,120,0,0,0,0,0,,,,,OPEN",
      "adabatch,replica1,0,0,2,4,,60,0,0,,0,,0,0,0,0,UP",
      "adabatch,replica2,0,0,0,3,,58,0,0,,0,,0,0,0,0,DOWN",
      "adabatch,BACKEND,0,0,2,5,410,118,0,0,0,0,,0,0,0,0,UP"
    ].join("\n")
    expect(Haproxy.parseStats(csv)).toEqual([
      { name: "replica1", status: "UP", current: 2, total: 60 },
      { name: "replica2", status: "DOWN", current: 0, total: 58 }
    ])
  })
})
