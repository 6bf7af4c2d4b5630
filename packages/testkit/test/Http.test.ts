import { describe, expect, it } from "@effect/vitest"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Arrivals from "../src/Arrivals.js"
import * as Http1 from "../src/Http1.js"
import * as HttpClient from "../src/HttpClient.js"
import * as HttpSend from "../src/HttpSend.js"
import * as Load from "../src/Load.js"
import * as Prometheus from "../src/Prometheus.js"

describe("Http1.parseResponse", () => {
  it("reads content-length bodies and leaves the next response in place", () => {
    const two = Buffer.from(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n"
    )
    const first = Http1.parseResponse(two)!
    expect(first.status).toBe(200)
    expect(first.body.toString()).toBe("hello")
    const second = Http1.parseResponse(two.subarray(first.used))!
    expect(second.status).toBe(429)
    expect(second.used).toBe(two.length - first.used)
  })

  it("reads chunked bodies and waits for incomplete input", () => {
    const full = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    const parsed = Http1.parseResponse(full)!
    expect(parsed.body.toString()).toBe("abcde")
    expect(parsed.used).toBe(full.length)
    for (let cut = 1; cut < full.length; cut++) {
      expect(Http1.parseResponse(full.subarray(0, cut))).toBeUndefined()
    }
  })

  it("rejects a malformed status line", () => {
    expect(() => Http1.parseResponse(Buffer.from("garbage\r\n\r\n"))).toThrow(/malformed status line/)
  })

  it("skips interim answers, reads headers, and frames a length-less body as asked", () => {
    const interim = Buffer.from(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Served-By: a\r\ncontent-length: 2\r\n\r\nok"
    )
    const parsed = Http1.parseResponse(interim)!
    expect([parsed.status, parsed.headers["x-served-by"], parsed.body.toString(), parsed.used])
      .toEqual([200, "a", "ok", interim.length])
    const unframed = Buffer.from("HTTP/1.1 200 OK\r\n\r\nrest")
    expect(Http1.parseResponse(unframed)).toBeUndefined() // delimited by the close
    expect(Http1.parseResponse(unframed, { unframed: "empty" })?.body.length).toBe(0)
    const head = Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n")
    expect(Http1.parseResponse(head, { head: true })?.used).toBe(head.length)
  })

  it("encodes requests with JSON framing unless the headers say otherwise", () => {
    const bytes = Http1.encodeRequest({ method: "POST", path: "/embed", port: 8080, body: { inputs: "hi" } })
    expect(bytes.toString("latin1")).toBe(
      "POST /embed HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n" +
        "{\"inputs\":\"hi\"}"
    )
    const chunked = Http1.encodeRequest({
      method: "POST",
      path: "/",
      port: 1,
      body: "0\r\n\r\n",
      headers: { "Transfer-Encoding": "chunked" }
    })
    expect(chunked.toString("latin1")).not.toContain("content-length")
  })
})

describe("load generation against a real node:http server", () => {
  const withServer = async <A>(
    handler: Http.RequestListener,
    f: (port: number) => Promise<A>
  ): Promise<A> => {
    const server = Http.createServer(handler)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
    try {
      return await f((server.address() as AddressInfo).port)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }

  it("a closed loop sends exactly the requested total and classifies statuses", async () => {
    let seen = 0
    const bodies: Array<string> = []
    const result = await withServer((req, res) => {
      let body = ""
      req.on("data", (c) => (body += c))
      req.on("end", () => {
        seen++
        bodies.push(body)
        const refused = (JSON.parse(body) as { inputs: string }).inputs === "refuse"
        res.writeHead(refused ? 429 : 200, { "content-type": "application/json" })
        // chunked on purpose (no content-length)
        res.end(JSON.stringify({ ok: !refused }))
      })
    }, async (port) => {
      const pool = HttpClient.makePool("127.0.0.1", port)
      const send = HttpSend.make(pool, HttpSend.embedRequests(port, "/embed", ["a", "b", "refuse"]))
      const r = await Load.closedLoop({ send, concurrency: 4, total: 30 })
      expect(pool.size()).toBeLessThanOrEqual(4)
      pool.close()
      return r
    })
    expect(seen).toBe(30)
    expect(result).toMatchObject({ counted: 30, ok: 20, rejected: 10, errors: 0 })
    expect(result.latenciesMs).toHaveLength(20)
    expect(new Set(bodies)).toEqual(new Set(["{\"inputs\":\"a\"}", "{\"inputs\":\"b\"}", "{\"inputs\":\"refuse\"}"]))
  })

  it("an open loop sends on schedule without waiting for answers, and counts unanswered requests", async () => {
    let counter = 0
    const result = await withServer((req, res) => {
      req.resume()
      // every 4th request never gets an answer
      if ((counter++ % 4) !== 3) res.end("ok")
    }, async (port) => {
      const pool = HttpClient.makePool("127.0.0.1", port)
      const send = HttpSend.make(pool, [
        Http1.encodeRequest({ method: "POST", path: "/", host: "127.0.0.1", port, body: "{}" })
      ])
      const schedule = Arrivals.constant({ ratePerSecond: 400, durationMs: 100 })
      const r = await Load.openLoop({ send, schedule, drainTimeoutMs: 300 })
      pool.close()
      return r
    })
    expect(result.counted).toBe(40)
    expect(result.ok).toBe(30)
    expect(result.unanswered).toBe(10)
    expect(result.errors).toBe(10)
    expect(result.lagMs).toHaveLength(40)
  })
  it("a refused connection is an error outcome, not a crash", async () => {
    const server = Http.createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
    const port = (server.address() as AddressInfo).port
    await new Promise((resolve) => server.close(resolve))
    const pool = HttpClient.makePool("127.0.0.1", port)
    const r = await Load.sequential({ send: HttpSend.make(pool, [Buffer.from("GET / HTTP/1.1\r\n\r\n")]), count: 3 })
    expect(r).toMatchObject({ ok: 0, errors: 3 })
  })
})

describe("Prometheus", () => {
  const before = Prometheus.parse(`# HELP adabatch_batch_size Items per batch
# TYPE adabatch_batch_size histogram
adabatch_batch_size_bucket{le="1"} 2
adabatch_batch_size_bucket{le="8"} 2
adabatch_batch_size_bucket{le="32"} 2
adabatch_batch_size_bucket{le="+Inf"} 2
adabatch_batch_size_sum 2
adabatch_batch_size_count 2
adabatch_requests_total{outcome="ok"} 10
adabatch_requests_total{outcome="rejected"} 3
`)
  const after = Prometheus.parse(`adabatch_batch_size_bucket{le="1"} 2
adabatch_batch_size_bucket{le="8"} 4
adabatch_batch_size_bucket{le="32"} 9
adabatch_batch_size_bucket{le="+Inf"} 9
adabatch_batch_size_sum 152
adabatch_batch_size_count 9
`)

  it("takes the difference of two histogram scrapes", () => {
    const d = Prometheus.histogramDelta(
      Prometheus.histogram(before, "adabatch_batch_size"),
      Prometheus.histogram(after, "adabatch_batch_size")
    )
    expect(d.count).toBe(7)
    expect(d.mean).toBeCloseTo(150 / 7, 10)
    expect(d.minAtMost).toBe(8)
    expect(d.maxBetween).toEqual([8, 32])
    expect(d.counts).toEqual([[1, 0], [8, 2], [32, 5], [Infinity, 0]])
  })

  it("sums labelled counter series", () => {
    expect(Prometheus.counter(before, "adabatch_requests_total")).toBe(13)
    expect(Prometheus.counter(before, "adabatch_requests_total", "outcome=\"rejected\"")).toBe(3)
    expect(Prometheus.counter(before, "missing_total")).toBe(0)
  })
})
