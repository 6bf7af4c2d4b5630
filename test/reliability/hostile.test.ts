/**
 * Hostile clients (issue #11): what one client can do to the server with raw sockets, each attack
 * run against the real server in a child process (`bin.ts`, tiny ONNX model), with the figure it
 * moves:
 *
 * - answers never read: 4 connections each pipeline 20,000 `GET /metrics` and never read (RSS
 *   growth, answers built, a normal request meanwhile, when the silent connections are closed);
 * - pipelining that reads its answers keeps working, in order;
 * - slow bodies: 515 connections send the headers of `POST /embed` and one byte of body (a normal
 *   request meanwhile; what the slow ones get);
 * - `Content-Encoding`: compressed bodies give the answers of plain ones; a zip bomb (1 GiB of
 *   spaces in a 1 MB gzip body) is refused at the payload limit (status, RSS growth);
 * - bytes in flight: 60 bodies of 1.9 MB at once, with a budget of 16 MiB (RSS growth, statuses).
 *
 * The server runs with a 3 s write timeout and a 4 s body timeout, so that every wait is short.
 * Lone surrogates and `truncate` on `/v1/embeddings` are cases of the bad-input catalogue.
 */
import { send, sleep } from "@adabatch/testkit/Client"
import * as Metrics from "@adabatch/testkit/Prometheus"
import { connect, exchange, oneShot, pipelined, requestBytes } from "@adabatch/testkit/RawHttp"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type * as Net from "node:net"
import * as Zlib from "node:zlib"
import * as Child from "./harness/ChildServer.js"
import { Figures, mib, round } from "./harness/Figures.js"
import { json } from "./harness/Json.js"
import { text } from "./harness/Texts.js"

const figures = new Figures("hostile")

const writeTimeoutMs = 3_000
const bodyTimeoutMs = 6_000
/** Small enough that a few dozen big bodies go over it, and the test sends little. */
const inflightBytes = 16 * 2 ** 20

let server: Child.ChildServer

/** The highest RSS of the child over `ms`, sampled every 50 ms. */
const peakRss = async (ms: number): Promise<number> => {
  let peak = server.rss()
  const end = performance.now() + ms
  while (performance.now() < end) {
    await sleep(50)
    peak = Math.max(peak, server.rss())
  }
  return peak
}

const embed = (inputs: string | ReadonlyArray<string>, headers: Record<string, string> = {}) =>
  send(server.port, { method: "POST", path: "/embed", body: { inputs }, headers, timeoutMs: 30_000 })

/** `/metrics` answers sent in full (a 200 is counted once the answer is handed to the socket). */
const metricsAnswered = async (): Promise<number> => {
  const o = await send(server.port, { path: "/metrics" })
  return Metrics.value(o.body.toString("utf8"), "adabatch_http_requests_total", { route: "/metrics", status: "200" })
}

/** Opens `n` connections, 64 at a time. */
const connections = async (n: number): Promise<Array<Net.Socket>> => {
  const out: Array<Net.Socket> = []
  for (let i = 0; i < n; i += 64) {
    out.push(...await Promise.all(Array.from({ length: Math.min(64, n - i) }, () => connect(server.port))))
  }
  for (const s of out) s.on("error", () => {})
  return out
}

/**
 * When each socket was closed by the server, in ms from `since` (`null`: still open after
 * `withinMs`). A paused socket notices a reset only when it writes, so each one writes an empty
 * line (allowed between HTTP requests) every 200 ms.
 */
const closes = async (sockets: ReadonlyArray<Net.Socket>, since: number, withinMs: number) => {
  const closed: Array<number | null> = sockets.map(() => null)
  sockets.forEach((s, i) => s.once("close", () => (closed[i] = Math.round(performance.now() - since))))
  const end = performance.now() + withinMs
  while (performance.now() < end && closed.some((c) => c === null)) {
    for (const s of sockets) if (!s.destroyed) s.write("\r\n")
    await sleep(200)
  }
  return closed
}

beforeAll(async () => {
  server = await Child.start([
    "--model",
    "tiny",
    "--write-timeout-ms",
    String(writeTimeoutMs),
    "--body-timeout-ms",
    String(bodyTimeoutMs),
    "--max-inflight-bytes",
    String(inflightBytes)
  ])
  // some traffic first, so that /metrics has its usual size
  for (let i = 0; i < 40; i++) expect((await embed([text(i, 8), text(i + 1, 8)])).status).toBe(200)
}, 120_000)

afterAll(async () => {
  figures.write()
  await server?.stop()
})

describe("hostile clients", () => {
  it(
    "4 connections that pipeline 20,000 requests each and never read: the server stops building their answers, holds bounded memory, serves a normal request, and closes them after the write timeout",
    async () => {
      const connectionsOpened = 4
      const requests = 20_000
      let polls = 0
      const base = await metricsAnswered()
      const answered = async () => (await metricsAnswered()) - base - ++polls
      await sleep(300)
      const before = server.rss()
      const silent = await connections(connectionsOpened)
      const started = performance.now()
      for (const s of silent) {
        s.pause()
        s.write(`GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`.repeat(requests))
      }
      const peak = peakRss(3_000)
      const closedAfter = closes(silent, started, 20_000)
      await sleep(1_000)
      const normal = await embed(text(7, 12))
      // answers built, sampled until the silent connections are closed
      const samples: Array<{ t: number; answers: number }> = []
      let done = false
      void closedAfter.then(() => (done = true))
      while (!done) {
        samples.push({ answers: await answered(), t: Math.round(performance.now() - started) })
        await sleep(250)
      }
      const closed = await closedAfter
      const peakBytes = await peak
      for (const s of silent) s.destroy()
      const firstClose = Math.min(...closed.map((c) => c ?? Infinity))
      const open = samples.filter((x) => x.t < firstClose)
      const total = open.at(-1)?.answers ?? 0
      // the longest stretch, while every connection was still open, in which no answer was built
      let plateauMs = 0
      for (let i = 0; i < open.length; i++) {
        let j = i
        while (j + 1 < open.length && open[j + 1]!.answers === open[i]!.answers) j++
        plateauMs = Math.max(plateauMs, open[j]!.t - open[i]!.t)
      }
      figures.set("unreadPipeline", {
        connections: connectionsOpened,
        requestsPerConnection: requests,
        writeTimeoutMs,
        idleRssMiB: mib(before),
        rssGrowthMiB: mib(peakBytes - before),
        answersBuilt: total,
        noAnswerBuiltForMs: plateauMs,
        normalRequest: { status: normal.status ?? normal.error, ms: round(normal.latencyMs, 0) },
        closedAfterMs: closed
      })
      expect(normal.status).toBe(200)
      expect(closed.every((c) => c !== null)).toBe(true)
      // the server stopped building answers while the connections were still open (the gate), and
      // closed them once nothing was taken for the write timeout
      expect(total).toBeLessThan(connectionsOpened * requests / 10)
      expect(plateauMs).toBeGreaterThanOrEqual(1_000)
      // one 64 KiB read of requests per connection waits in the server (~2,000 minimal requests,
      // ~10 MB); without the gate, a machine with CPU to spare builds all 80,000 answers (+114 MiB)
      expect(peakBytes - before).toBeLessThan(96 * 2 ** 20)
    },
    90_000
  )

  it("pipelining that reads its answers still gets every answer, in order", async () => {
    const count = 2_000
    const requests = Array.from({ length: count }, (_, i) =>
      i % 100 === 0
        ? requestBytes(server.port, "POST", "/embed", { inputs: text(i, 6) })
        : requestBytes(server.port, "GET", `/nope-${i}`))
    const started = performance.now()
    const { answers, error } = await pipelined(server.port, requests, 60_000)
    const ms = performance.now() - started
    const inOrder = answers.filter((a, i) =>
      i % 100 === 0
        ? a.status === 200 && (JSON.parse(a.body.toString("utf8")) as Array<unknown>).length === 1
        : a.status === 404 && a.body.toString("utf8").includes(`GET /nope-${i};`)
    ).length
    figures.set("readPipeline", {
      requests: count,
      answered: answers.length,
      inOrder,
      error: error ?? null,
      ms: round(ms, 0)
    })
    expect(error).toBeUndefined()
    expect(answers).toHaveLength(count)
    expect(inOrder).toBe(count)
  }, 90_000)

  it(
    "515 slow bodies take no embedding slot: a normal request gets 200 at once, the slow ones 408 after the body timeout",
    async () => {
      const n = 515
      const slow = await connections(n)
      const answers: Array<{ status: number | undefined; ms: number; body: string }> = slow.map(() => ({
        status: undefined,
        ms: 0,
        body: ""
      }))
      const started = performance.now()
      slow.forEach((s, i) => {
        s.on("data", (d: Buffer) => {
          const first = answers[i]!
          if (first.status !== undefined) return
          first.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(d.toString("latin1"))?.[1])
          first.ms = Math.round(performance.now() - started)
          first.body = d.toString("utf8").split("\r\n\r\n")[1] ?? ""
        })
        s.write(
          `POST /embed HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{`
        )
      })
      await sleep(300)
      const normal = await embed(text(3, 12))
      const deadline = performance.now() + bodyTimeoutMs + 15_000
      while (performance.now() < deadline && answers.some((a) => a.status === undefined)) await sleep(100)
      for (const s of slow) s.destroy()
      const byStatus: Record<string, number> = {}
      for (const a of answers) byStatus[String(a.status ?? "none")] = (byStatus[String(a.status ?? "none")] ?? 0) + 1
      const times = answers.filter((a) => a.status === 408).map((a) => a.ms)
      figures.set("slowBodies", {
        connections: n,
        bodyTimeoutMs,
        normalRequest: { status: normal.status ?? normal.error, ms: round(normal.latencyMs, 0) },
        slowAnswers: byStatus,
        first408Ms: times.length === 0 ? null : Math.min(...times),
        last408Ms: times.length === 0 ? null : Math.max(...times)
      })
      expect(normal.status).toBe(200)
      expect(byStatus).toEqual({ "408": n })
      expect(JSON.parse(answers[0]!.body)).toEqual({
        error: `the request body did not arrive within ${bodyTimeoutMs} ms (ADABATCH_BODY_TIMEOUT_MS)`,
        error_type: "Validation"
      })
    },
    90_000
  )

  it(
    "gzip, deflate and br bodies give the answers of the plain body; a 1 GiB zip bomb is refused at the payload limit",
    async () => {
      const body = Buffer.from(JSON.stringify({ inputs: [text(1, 10), text(2, 10)] }))
      const post = (bytes: Buffer, encoding?: string) =>
        oneShot(server.port, [
          requestBytes(
            server.port,
            "POST",
            "/embed",
            bytes,
            encoding === undefined ? {} : { "content-encoding": encoding }
          )
        ])
      const plain = await post(body)
      expect(plain.status).toBe(200)
      const decoded: Record<string, boolean> = {}
      for (
        const [encoding, bytes] of [
          ["gzip", Zlib.gzipSync(body)],
          ["deflate", Zlib.deflateSync(body)],
          ["br", Zlib.brotliCompressSync(body)],
          ["gzip, br", Zlib.brotliCompressSync(Zlib.gzipSync(body))]
        ] as const
      ) {
        const o = await post(bytes, encoding)
        decoded[encoding] = o.status === 200 && o.body.equals(plain.body)
      }
      // 1,024 gzip members of 1 MiB of spaces each: 1 GiB once decoded
      const member = Zlib.gzipSync(Buffer.alloc(2 ** 20, 32), { level: 9 })
      const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member))
      await sleep(300)
      const before = server.rss()
      const peak = peakRss(2_000)
      const o = await post(bomb, "gzip")
      const peakBytes = await peak
      figures.set("encoding", {
        decodedLikePlain: decoded,
        bomb: {
          compressedMiB: mib(bomb.length),
          decodedGiB: 1,
          status: o.status ?? o.error,
          ms: round(o.latencyMs, 0),
          rssGrowthMiB: mib(peakBytes - before)
        }
      })
      expect(decoded).toEqual({ gzip: true, deflate: true, br: true, "gzip, br": true })
      expect(o.status).toBe(413)
      expect(json(o).error).toMatch(/decoded request body is larger than the limit of 2097152 bytes/)
      expect(peakBytes - before).toBeLessThan(64 * 2 ** 20)
    },
    60_000
  )

  it(
    "60 bodies of 1.9 MB at once: the budget of bytes in flight answers 429 with Retry-After past it, and memory stays bounded",
    async () => {
      const n = 60
      const size = 1_900_000
      const prefix = JSON.stringify({ inputs: text(5, 6) })
      const body = Buffer.from(prefix + " ".repeat(size - prefix.length))
      const head = requestBytes(server.port, "POST", "/embed", undefined, {
        "content-type": "application/json",
        "content-length": String(body.length)
      })
      const sockets = await connections(n)
      await sleep(300)
      const before = server.rss()
      // all but the last byte at once, the last byte 2 s later (within the body timeout): the accepted
      // bodies are all held at once
      const outcomes = Promise.all(
        sockets.map((s) =>
          exchange(s, [Buffer.concat([head, body.subarray(0, size - 1)]), body.subarray(size - 1)], {
            gapMs: 2_000,
            timeoutMs: 60_000
          })
        )
      )
      const peakBytes = await peakRss(1_800)
      const answers = await outcomes
      for (const s of sockets) s.destroy()
      const byStatus: Record<string, number> = {}
      for (const a of answers) byStatus[String(a.status ?? a.error)] = (byStatus[String(a.status ?? a.error)] ?? 0) + 1
      const budget = inflightBytes
      figures.set("inflightBytes", {
        requests: n,
        bodyBytes: size,
        budgetBytes: budget,
        idleRssMiB: mib(before),
        rssGrowthMiB: mib(peakBytes - before),
        answers: byStatus
      })
      expect(Object.keys(byStatus).sort()).toEqual(["200", "429"])
      for (const a of answers) if (a.status === 429) expect(a.headers["retry-after"]).toBe("1")
      // 8 bodies fit in the budget (15 MB); all 60 held would be 114 MB before any copy
      expect(peakBytes - before).toBeLessThan(80 * 2 ** 20)
    },
    120_000
  )
})
