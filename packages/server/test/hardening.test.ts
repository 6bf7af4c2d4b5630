/**
 * Bounds a single client could test, over real loopback HTTP against the real server (echo
 * model): an embedding slot is taken only once the body has arrived, a body that stalls gets 408
 * after the body timeout, the budget of bytes in flight answers 429 before reading a body that does
 * not fit (and counts a chunked body as it arrives), and `truncate` works on `/v1/embeddings`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Net from "node:net"
import { embed, eventually, type Handle, post, start } from "./helpers.js"

/** A raw connection that sends `head` and reads what comes back. */
const raw = async (port: number, head: string) => {
  const socket = Net.connect(port, "127.0.0.1")
  socket.on("error", () => {})
  await new Promise((resolve) => socket.once("connect", resolve))
  let received = ""
  let closed = false
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")))
  socket.on("close", () => (closed = true))
  socket.write(head)
  return { socket, received: () => received, closed: () => closed }
}

const postHead = (port: number, headers: string) =>
  `POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n${headers}\r\n`

/** A JSON body of exactly `size` bytes (spaces after the object). */
const padded = (size: number) => {
  const json = JSON.stringify({ inputs: "padded" })
  return json + " ".repeat(size - json.length)
}

describe("an embedding slot is taken once the body has arrived", () => {
  let server: Handle
  beforeAll(async () => {
    server = await start({ maxConcurrentRequests: 2, bodyTimeoutMs: 400 })
  })
  afterAll(() => server.close())

  it("clients that stall their bodies hold no slot, and get 408 after the body timeout", async () => {
    const stalled = await Promise.all(
      Array.from({ length: 3 }, () => raw(server.port, postHead(server.port, "content-length: 100\r\n") + "{"))
    )
    // the three handlers are reading their bodies; two slots would be taken if they counted
    const normal = await embed(server, "a normal request")
    expect(normal.status).toBe(200)
    await eventually(() => stalled.every((s) => s.closed()), 10_000)
    for (const s of stalled) {
      const answer = s.received()
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer.toLowerCase()).toContain("connection: close")
      expect(JSON.parse(answer.split("\r\n\r\n")[1]!)).toEqual({
        error: "the request body did not arrive within 400 ms (ADABATCH_BODY_TIMEOUT_MS)",
        error_type: "Validation"
      })
    }
  })
})

describe("the budget of bytes in flight", () => {
  let server: Handle
  beforeAll(async () => {
    server = await start({ payloadLimit: 48_000, maxInflightBytes: 64_000, bodyTimeoutMs: 10_000 })
  })
  afterAll(() => server.close())

  it("answers 429 with Retry-After before reading a body that does not fit, chunked ones as they arrive", async () => {
    const size = 40_000
    const body = padded(size)
    // holds 40,000 bytes of the budget while its body is being read
    const holder = await raw(server.port, postHead(server.port, `content-length: ${size}\r\n`) + body.slice(0, 10))
    await new Promise((r) => setTimeout(r, 100))
    const refused = await post(server, "/embed", body)
    expect(refused.status).toBe(429)
    expect(refused.headers.get("retry-after")).toBe("1")
    expect(refused.json.error).toBe(
      "request bodies in flight would exceed the budget of 64000 bytes (ADABATCH_MAX_INFLIGHT_BYTES); retry later"
    )
    // a chunked body has no length up front: it is counted as it arrives
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`
    const chunked = await raw(
      server.port,
      postHead(server.port, "transfer-encoding: chunked\r\n") + chunk(padded(30_000)) + "0\r\n\r\n"
    )
    await eventually(() => chunked.received().includes("\r\n\r\n"), 10_000)
    expect(chunked.received()).toMatch(/^HTTP\/1\.1 429 /)
    chunked.socket.destroy()
    // the holder completes its body and is answered; then the budget has room again
    holder.socket.write(body.slice(10))
    await eventually(() => holder.received().includes("\r\n\r\n"), 10_000)
    expect(holder.received()).toMatch(/^HTTP\/1\.1 200 /)
    holder.socket.destroy()
    expect((await post(server, "/embed", body)).status).toBe(200)
  })
})

describe("truncate on /v1/embeddings", () => {
  let server: Handle
  beforeAll(async () => {
    server = await start({})
  })
  afterAll(() => server.close())

  it("is honoured, so the advice of the 422 works", async () => {
    const long = "word ".repeat(2_000)
    const refused = await post(server, "/v1/embeddings", { input: long })
    expect(refused.status).toBe(422)
    expect(refused.json.error.message).toMatch(/send truncate: true/)
    expect((await post(server, "/v1/embeddings", { input: long, truncate: false })).status).toBe(422)
    const truncated = await post(server, "/v1/embeddings", { input: long, truncate: true })
    expect(truncated.status).toBe(200)
    expect(truncated.json.data).toHaveLength(1)
    expect((await post(server, "/v1/embeddings", { input: "short", truncate: null })).status).toBe(200)
    expect((await post(server, "/v1/embeddings", { input: "short", truncate: "yes" })).json.error.message).toMatch(
      /"truncate" must be true or false/
    )
  })
})
