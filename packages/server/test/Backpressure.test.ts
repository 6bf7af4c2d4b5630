/**
 * The per-connection gate on a plain Node HTTP server over real loopback sockets: how many
 * requests of one connection run at once, that pipelined answers keep their order, that a
 * connection which does not read is read no further and closed after the write timeout, and that
 * a slow handler alone never counts as a stalled client.
 */
import { Backpressure } from "@adabatch/server"
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as Http from "node:http"
import * as Net from "node:net"

const servers: Array<Http.Server> = []

afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

/** A server whose handler answers `GET /<n>` with `body(n)` after `delayMs(n)`. */
const serve = async (
  options: Backpressure.Options,
  answer: { readonly body?: (n: number) => string; readonly delayMs?: (n: number) => number } = {}
) => {
  const server = Http.createServer()
  Backpressure.install(server, options)
  const stats = { handled: 0, active: 0, maxActive: 0, sockets: [] as Array<Net.Socket> }
  server.on("connection", (s: Net.Socket) => stats.sockets.push(s))
  server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    stats.handled++
    stats.active++
    stats.maxActive = Math.max(stats.maxActive, stats.active)
    const n = Number(req.url!.slice(1))
    setTimeout(() => {
      stats.active--
      res.end(answer.body?.(n) ?? `answer ${n};`)
    }, answer.delayMs?.(n) ?? 0)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  servers.push(server)
  return { port: (server.address() as Net.AddressInfo).port, stats }
}

const requests = (count: number) =>
  Array.from({ length: count }, (_, i) => `GET /${i} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`).join("")

const connect = (port: number) =>
  new Promise<Net.Socket>((resolve, reject) => {
    const s = Net.connect(port, "127.0.0.1", () => resolve(s))
    s.once("error", reject)
  })

const waitFor = async (check: () => boolean, timeoutMs: number): Promise<boolean> => {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}

describe("Backpressure", () => {
  it("runs at most maxActive requests of a connection at once, and pipelined answers keep their order", async () => {
    const { port, stats } = await serve(
      { maxActive: 3, maxUnsentBytes: 64 * 1024, writeTimeoutMs: 5_000 },
      { delayMs: (n) => (n * 7) % 5 }
    )
    const socket = await connect(port)
    let text = ""
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")))
    socket.write(requests(300))
    expect(await waitFor(() => (text.match(/answer \d+;/g) ?? []).length === 300, 20_000)).toBe(true)
    socket.destroy()
    const order = (text.match(/answer (\d+);/g) ?? []).map((m) => Number(m.slice(7, -1)))
    expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i))
    expect(stats.maxActive).toBeLessThanOrEqual(3)
    expect(stats.maxActive).toBeGreaterThan(1)
  })

  it("stops reading a connection that does not read its answers, and closes it after the write timeout", async () => {
    const { port, stats } = await serve(
      { maxActive: 4, maxUnsentBytes: 64 * 1024, writeTimeoutMs: 300 },
      { body: () => "x".repeat(16 * 1024) }
    )
    const socket = await connect(port)
    socket.on("error", () => {})
    socket.pause()
    socket.write(requests(20_000))
    const serverSide = () => stats.sockets[0]
    expect(await waitFor(() => serverSide()?.destroyed === true, 15_000)).toBe(true)
    // closed with most requests never handled: the kernel's buffers hold a few MB of answers at most
    expect(stats.handled).toBeLessThan(5_000)
    socket.destroy()
  })

  it("never takes a slow handler with nothing unsent for a client that stopped reading", async () => {
    const { port, stats } = await serve(
      { maxActive: 1, maxUnsentBytes: 64 * 1024, writeTimeoutMs: 100 },
      { delayMs: () => 250 }
    )
    const socket = await connect(port)
    let text = ""
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")))
    socket.write(requests(4))
    expect(await waitFor(() => (text.match(/answer \d+;/g) ?? []).length === 4, 10_000)).toBe(true)
    expect(stats.sockets[0]?.destroyed).toBe(false)
    socket.destroy()
  })
})
