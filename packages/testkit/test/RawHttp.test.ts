/**
 * The reliability suite's raw HTTP client against real loopback servers: answers with their
 * headers, HEAD, a body delimited by the close, a lane pool that reconnects after the server closed
 * its connection, and pipelining.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Http from "node:http"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import * as RawHttp from "../src/RawHttp.js"

const listen = async <S extends Net.Server>(server: S): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return (server.address() as AddressInfo).port
}

const close = (server: Net.Server) => new Promise((resolve) => server.close(resolve))

describe("RawHttp against a real node:http server", () => {
  it("reads statuses, headers and bodies; HEAD has no body; the pool reconnects a closed lane", async () => {
    const server = Http.createServer((req, res) => {
      const closing = req.url === "/close"
      res.writeHead(req.url === "/missing" ? 404 : 200, {
        "x-path": req.url ?? "",
        "content-type": "text/plain",
        ...(closing ? { connection: "close" } : {})
      })
      res.end(`hello ${req.url}`)
    })
    const port = await listen(server)
    try {
      const one = await RawHttp.oneShot(port, [RawHttp.requestBytes(port, "GET", "/a")])
      expect([one.status, one.headers["x-path"], one.body.toString(), one.closed]).toEqual([
        200,
        "/a",
        "hello /a",
        false
      ])
      const head = await RawHttp.oneShot(port, [RawHttp.requestBytes(port, "HEAD", "/h")], { head: true })
      expect([head.status, head.body.length]).toEqual([200, 0])
      const missing = await RawHttp.oneShot(port, [RawHttp.requestBytes(port, "POST", "/missing", { x: 1 })])
      expect(missing.status).toBe(404)

      const pool = await RawHttp.Pool.open(port, 2, 1)
      try {
        const first = pool.send(RawHttp.requestBytes(port, "GET", "/close"))!
        const second = pool.send(RawHttp.requestBytes(port, "GET", "/b"))!
        expect(pool.send(RawHttp.requestBytes(port, "GET", "/c"))).toBeUndefined() // both lanes busy
        const answers = await Promise.all([first, second])
        expect(answers.map((a) => [a.status, a.body.toString()])).toEqual([[200, "hello /close"], [200, "hello /b"]])
        expect(pool.idle).toBe(2)
        // the lanes are used in turn: the closed one comes back first, and reconnects
        for (const path of ["/d", "/e"]) {
          const again = await pool.send(RawHttp.requestBytes(port, "GET", path))!
          expect([again.status, again.error]).toEqual([200, undefined])
        }
        expect(pool.reconnects).toBe(1)
      } finally {
        pool.close()
      }

      const piped = await RawHttp.pipelined(port, ["/1", "/2", "/3"].map((p) => RawHttp.requestBytes(port, "GET", p)))
      expect([piped.error, piped.answers.map((a) => a.body.toString())]).toEqual([
        undefined,
        ["hello /1", "hello /2", "hello /3"]
      ])
    } finally {
      server.closeAllConnections()
      await close(server)
    }
  })

  it("reads a body delimited by the close, and reports a connection closed without an answer", async () => {
    const server = Net.createServer((socket) => {
      socket.once("data", (d: Buffer) => {
        if (d.toString("latin1").startsWith("GET /silent")) socket.destroy()
        else socket.end("HTTP/1.1 200 OK\r\nx-kind: unframed\r\n\r\nuntil the end")
      })
    })
    const port = await listen(server)
    try {
      const unframed = await RawHttp.oneShot(port, [RawHttp.requestBytes(port, "GET", "/")])
      expect([unframed.status, unframed.headers["x-kind"], unframed.body.toString(), unframed.closed])
        .toEqual([200, "unframed", "until the end", true])
      const silent = await RawHttp.oneShot(port, [RawHttp.requestBytes(port, "GET", "/silent")])
      expect([silent.status, silent.error]).toEqual([undefined, "closed-without-answer"])
    } finally {
      await close(server)
    }
  })
})
