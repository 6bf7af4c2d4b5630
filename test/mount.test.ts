/**
 * The README's "adabatch inside an Effect application" example (`examples/mount.ts`, shown in the
 * README verbatim), run as written with the tiny model on a loopback port: the application's own
 * `GET /hello` and adabatch under `/ml` answer on one port, `/ml/embed` gives the standalone
 * server's vectors, and closing the application's scope answers the requests in flight (none is
 * reset) and ends the model's worker threads.
 */
import { makeServer } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { readFileSync } from "node:fs"
import * as Net from "node:net"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const example = readFileSync(new URL("./examples/mount.ts", import.meta.url), "utf8")

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Worker threads alive in this process (the model's ONNX and tokenizer workers). */
const liveWorkers = (): number =>
  (process.report.getReport() as unknown as { workers: ReadonlyArray<unknown> }).workers.length

const eventually = async (check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 20))
  }
}

const json = { "content-type": "application/json" }

const embedAt = async (url: string, inputs: ReadonlyArray<string>) => {
  const response = await fetch(url, { method: "POST", headers: json, body: JSON.stringify({ inputs }) })
  expect(response.status).toBe(200)
  return (await response.json()) as Array<Array<number>>
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("adabatch mounted in an Effect application (README example)", () => {
  it("serves /hello and /ml/* on one port; closing the scope drains /ml and ends the workers", async () => {
    expect(readme).toContain(example.trim())
    const texts = ["the README example", "adabatch under /ml", "é 你好 👋"]
    const standalone = await makeServer({ model: "tiny", port: 0, host: "127.0.0.1" }, { logReady: false })
    const expected = await embedAt(`${standalone.url}/embed`, texts).finally(() => standalone.close())

    const port = await freePort()
    process.env["PORT"] = String(port)
    process.env["HOST"] = "127.0.0.1"
    process.env["ADABATCH_MODEL"] = "tiny"
    const before = liveWorkers()
    const { main } = await import("./examples/mount.js")
    const fiber = Effect.runFork(main)
    const url = `http://127.0.0.1:${port}`
    // the listener opens before the app is served: a request that arrives meanwhile is not answered
    const health = () => fetch(`${url}/ml/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined)
    await eventually(async () => (await health())?.status === 200)
    expect(liveWorkers()).toBeGreaterThan(before)

    // both applications' routes on one port
    const hello = await fetch(`${url}/hello`)
    expect([hello.status, await hello.text()]).toEqual([200, "hello"])
    expect(await embedAt(`${url}/ml/embed`, texts)).toEqual(expected)
    const openai = await fetch(`${url}/ml/v1/embeddings`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ input: texts[0] })
    })
    const vector = ((await openai.json()) as { data: Array<{ embedding: Array<number> }> }).data[0]!.embedding
    expect(vector).toHaveLength(expected[0]!.length)
    vector.forEach((x, i) => expect(x).toBeCloseTo(expected[0]![i]!, 5))
    expect((await fetch(`${url}/ml/embed`)).headers.get("allow")).toBe("POST")
    const unknown = await fetch(`${url}/ml/nothing`)
    expect([unknown.status, ((await unknown.json()) as { error_type: string }).error_type]).toEqual([404, "Validation"])
    expect((await fetch(`${url}/nothing`)).status).toBe(404)
    expect(await (await fetch(`${url}/ml/metrics`)).text()).toMatch(/^adabatch_http_requests_total\{/m)

    // requests in flight when the scope closes are answered, not reset
    const inputs = Array.from({ length: 64 }, (_, i) => `input ${i}: ` + "lorem ipsum dolor sit amet ".repeat(6))
    let closing = false
    let answeredBeforeClose = 0
    const pending = Array.from({ length: 12 }, () =>
      fetch(`${url}/ml/embed`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ inputs }),
        signal: AbortSignal.timeout(20_000)
      }).then(
        async (response) => {
          if (!closing) answeredBeforeClose++
          return { status: response.status, vectors: ((await response.json()) as Array<unknown>).length }
        },
        (error: unknown) => ({ status: String(error), vectors: 0 })
      ))
    // close once every request is in adabatch's hands (the gauge counts the scrape itself too):
    // NodeHttpServer closes its listener at once, which refuses connections not yet accepted
    const inFlight = async () =>
      Number(
        /^adabatch_http_requests_in_flight(?:\{[^}]*\})? (\d+)/m.exec(await (await fetch(`${url}/ml/metrics`)).text())
          ?.[1]
      )
    await eventually(async () => (await inFlight()) - 1 + answeredBeforeClose >= pending.length)
    closing = true
    await Effect.runPromise(Fiber.interrupt(fiber))
    const answers = await Promise.all(pending)
    expect(answeredBeforeClose).toBeLessThan(pending.length)
    expect(answers).toEqual(pending.map(() => ({ status: 200, vectors: 64 })))

    // the listener is closed and the model's worker threads have ended
    expect(await refused(port)).toBe(true)
    await eventually(() => liveWorkers() === before)
  }, 90_000)
})
