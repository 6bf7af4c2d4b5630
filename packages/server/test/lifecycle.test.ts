/**
 * What happens around the model: loading, overload, deadlines, model failures, client disconnects
 * and draining. The model is the real echo model behind a gate that holds batches, so a test can
 * keep one batch in flight and fill the queue behind it.
 */
import { ModelSource } from "@adabatch/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Latch, Layer } from "effect"
import * as Net from "node:net"
import { embed, eventually, get, post, probe, requestCount, start } from "./helpers.js"

const queued = async (server: { readonly url: string }): Promise<number> => (await get(server, "/ready")).json.queued

describe("loading", () => {
  it("answers 503 while the model loads, then serves", async () => {
    const loaded = Latch.makeUnsafe(false)
    const slowModel = Layer.unwrap(Effect.as(loaded.await, ModelSource.layer({ model: "echo" })))
    let url: string | undefined
    const starting = start({}, { model: slowModel, onListening: (address) => void (url = address.url) })
    await eventually(() => url !== undefined)
    const server = { url: url! }
    const ready = await get(server, "/ready")
    expect(ready.status).toBe(503)
    expect(ready.json).toEqual({ status: "loading" })
    expect((await get(server, "/health")).status).toBe(503)
    const early = await embed(server, "too early")
    expect(early.status).toBe(503)
    expect(early.json).toEqual({ error: "the model is still loading", error_type: "Unhealthy" })
    expect(early.headers.get("retry-after")).toBe("1")
    const openai = await post(server, "/v1/embeddings", { input: "too early" })
    expect(openai.status).toBe(503)
    expect(openai.json.error).toMatchObject({ code: "model_loading", type: "service_unavailable_error" })
    loaded.openUnsafe()
    const handle = await starting
    try {
      expect((await get(server, "/ready")).status).toBe(200)
      expect((await embed(server, "now")).status).toBe(200)
    } finally {
      await handle.close()
    }
  })

  it("fails start-up with the path and the reason when the model cannot load", async () => {
    const error = await start({ model: "/nonexistent/adabatch-model" }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toMatchObject({ _tag: "ModelLoadError" })
    expect((error as Error).message).toMatch(/cannot load model from \/nonexistent\/adabatch-model: .+/)
  })
})

describe("client disconnect", () => {
  it("a request whose client goes away while it is queued is never computed", async () => {
    const model = probe()
    const server = await start({}, { model: model.layer })
    try {
      model.close()
      const first = embed(server, "first request")
      await eventually(() => model.batches() === 1)
      const before = await requestCount("/embed", "POST", 499)
      const controller = new AbortController()
      const second = post(server, "/embed", { inputs: "second request" }, { signal: controller.signal })
      await eventually(async () => (await queued(server)) === 1)
      controller.abort()
      await expect(second).rejects.toThrow()
      // the server saw the disconnect: the request's fiber was interrupted (counted as 499)
      await eventually(async () => (await requestCount("/embed", "POST", 499)) === before + 1)
      model.open()
      expect((await first).status).toBe(200)
      expect((await embed(server, "third request")).status).toBe(200)
      // only the first and the third reached the model
      expect(model.computed()).toBe(2)
      expect(model.wasComputed("second request")).toBe(false)
    } finally {
      model.open()
      await server.close()
    }
  })
})

describe("overload", () => {
  it("a full queue under reject answers 429 with Retry-After, and every request gets exactly one answer", async () => {
    const model = probe()
    const server = await start({ queueCapacity: 4, overflow: "reject" }, { model: model.layer })
    try {
      model.close()
      const blocker = embed(server, "blocker")
      await eventually(() => model.batches() === 1)
      const settled: Array<number> = []
      const requests = Array.from(
        { length: 20 },
        (_, i) =>
          embed(server, `request number ${i}`).then((reply) => {
            settled.push(reply.status)
            return reply
          })
      )
      await eventually(() => settled.length === 16)
      expect(settled.every((s) => s === 429)).toBe(true)
      const ready = await get(server, "/ready")
      expect(ready.status).toBe(503)
      expect(ready.json).toMatchObject({ status: "saturated", queued: 4, capacity: 4 })
      model.open()
      const replies = await Promise.all(requests)
      expect((await blocker).status).toBe(200)
      expect(replies.filter((r) => r.status === 200)).toHaveLength(4)
      const rejected = replies.filter((r) => r.status === 429)
      expect(rejected).toHaveLength(16)
      for (const r of rejected) {
        expect(r.json.error_type).toBe("Overloaded")
        expect(r.json.error).toMatch(/^model is overloaded: queue full: 4 of 4 slots taken; retry after \d+ ms$/)
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
        expect(Number(r.headers.get("retry-after-ms"))).toBeGreaterThanOrEqual(1)
      }
      expect((await get(server, "/ready")).status).toBe(200)
    } finally {
      model.open()
      await server.close()
    }
  })

  it("a full queue refuses before the body is parsed, and the keep-alive connection serves the next request", async () => {
    const model = probe()
    const server = await start({ queueCapacity: 1, overflow: "reject" }, { model: model.layer })
    const { hostname, port } = new URL(server.url)
    const socket = Net.connect(Number(port), hostname)
    try {
      model.close()
      const blocker = embed(server, "blocker")
      await eventually(() => model.batches() === 1)
      const queuedOne = embed(server, "queued")
      await eventually(async () => (await queued(server)) === 1)
      let received = ""
      socket.setEncoding("latin1")
      socket.on("data", (d: string) => (received += d))
      const request = (body: string) =>
        `POST /embed HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`
      // malformed JSON: refused as overloaded (429), so it was never parsed
      const refusedBody = "{\"inputs\": " + "x".repeat(64 * 1024)
      socket.write(request(refusedBody))
      await eventually(() => received.includes("\r\n\r\n{\"error\""))
      expect(received).toMatch(/^HTTP\/1\.1 429 /)
      expect(received).toMatch(/retry-after: \d+/i)
      expect(received).toMatch(/queue full: 1 of 1 slots taken/)
      expect(received).not.toMatch(/connection: close/i)
      model.open()
      expect((await blocker).status).toBe(200)
      expect((await queuedOne).status).toBe(200)
      // the unread body was discarded from the wire: the same connection answers the next request
      received = ""
      socket.write(request(JSON.stringify({ inputs: "on the same connection" })))
      await eventually(() => /\r\n\r\n\[\[/.test(received))
      expect(received).toMatch(/^HTTP\/1\.1 200 /)
      expect(model.wasComputed("on the same connection")).toBe(true)
    } finally {
      socket.destroy()
      model.open()
      await server.close()
    }
  })

  it("a request whose deadline passes while it waits gets 504 and is not computed", async () => {
    const model = probe()
    const server = await start({ requestTimeoutMs: 300 }, { model: model.layer })
    try {
      model.close()
      const blocker = embed(server, "blocker")
      await eventually(() => model.batches() === 1)
      const late = await embed(server, "late request")
      expect(late.status).toBe(504)
      expect(late.json.error_type).toBe("Overloaded")
      expect(late.json.error).toMatch(/^request timed out: deadline exceeded: waited \d+ ms of a 300 ms budget$/)
      const lateOpenAI = await post(server, "/v1/embeddings", { input: "late too" })
      expect(lateOpenAI.status).toBe(504)
      expect(lateOpenAI.json.error).toMatchObject({ code: "deadline_exceeded", type: "timeout_error" })
      // the blocker's own budget passed too while its batch was held
      expect((await blocker).status).toBe(504)
      model.open()
      expect((await embed(server, "after the gate")).status).toBe(200)
      expect(model.wasComputed("after the gate")).toBe(true)
      expect(model.wasComputed("late request")).toBe(false)
      expect(model.wasComputed("late too")).toBe(false)
    } finally {
      model.open()
      await server.close()
    }
  })
})

describe("concurrent request limit", () => {
  it("refuses embedding requests over the limit with 429 and Retry-After, before parsing, without a reset", async () => {
    const model = probe()
    const server = await start({ maxConcurrentRequests: 2, overflow: "backpressure" }, { model: model.layer })
    try {
      model.close()
      const held = [embed(server, "held 1")]
      await eventually(() => model.batches() === 1)
      held.push(embed(server, "held 2"))
      await eventually(async () => model.batches() + (await queued(server)) === 2)
      // a malformed body is refused as overloaded, not as invalid JSON: it is never parsed
      const tei = await post(server, "/embed", "{\"inputs\": ")
      expect(tei.status).toBe(429)
      expect(tei.json).toEqual({
        error: "Model is overloaded: 2 requests are already being handled (ADABATCH_MAX_CONCURRENT_REQUESTS); " +
          "retry later",
        error_type: "Overloaded"
      })
      expect(tei.headers.get("retry-after")).toBe("1")
      // a large body is drained, so the answer arrives (no connection reset)
      const openai = await post(server, "/v1/embeddings", { input: "x".repeat(1024 * 1024) })
      expect(openai.status).toBe(429)
      expect(openai.json.error).toMatchObject({ code: "too_many_requests", type: "overloaded_error", param: null })
      expect(openai.json.error.message).toMatch(/^Model is overloaded/)
      expect(openai.headers.get("retry-after")).toBe("1")
      // other routes are not limited
      expect((await get(server, "/info")).json.max_concurrent_requests).toBe(2)
      expect(model.wasComputed("x".repeat(1024 * 1024))).toBe(false)
      model.open()
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200])
      // the slots are free again
      const after = await Promise.all([embed(server, "after 1"), embed(server, "after 2")])
      expect(after.map((r) => r.status)).toEqual([200, 200])
      expect((await embed(server, "after 3")).status).toBe(200)
    } finally {
      model.open()
      await server.close()
    }
  })
})

describe("backpressure", () => {
  it("a full queue under backpressure makes requests wait instead of refusing them", async () => {
    const model = probe()
    const server = await start({ queueCapacity: 2, overflow: "backpressure" }, { model: model.layer })
    try {
      model.close()
      const blocker = embed(server, "blocker")
      await eventually(() => model.batches() === 1)
      const requests = Array.from({ length: 8 }, (_, i) => embed(server, `waiting request ${i}`))
      // the engine counts waiting submitters as queued
      await eventually(async () => (await queued(server)) === 8)
      const ready = await get(server, "/ready")
      expect(ready.status).toBe(503)
      expect(ready.json.status).toBe("saturated")
      model.open()
      const replies = await Promise.all([blocker, ...requests])
      expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 9 }, () => 200))
      for (let i = 0; i < 8; i++) expect(model.wasComputed(`waiting request ${i}`)).toBe(true)
    } finally {
      model.open()
      await server.close()
    }
  })
})

describe("configuration", () => {
  it("reaches the engine: batch, wait and queue policies show in /info", async () => {
    const server = await start({
      batchPolicy: "fixed",
      waitPolicy: "none",
      maxBatchSize: 8,
      maxBatchTokens: 1000,
      queueCapacity: 64,
      queueDynamic: { floor: 16, ceiling: 256 }
    })
    try {
      const info = (await get(server, "/info")).json
      expect(info.batching.config).toMatchObject({
        batch_policy: "fixed",
        wait_policy: "none",
        max_batch_size: 8,
        max_batch_tokens: 1000,
        queue_dynamic: { floor: 16, ceiling: 256 }
      })
      expect(info.batching.current).toMatchObject({ maxBatchSize: 8, maxBatchCost: 1000, capacity: 64 })
      expect(info.batching.current.policies.batchSize.policy).toBe("fixed")
      expect(info.batching.current.policies.wait.policy).toBe("none")
      expect(JSON.stringify(info.batching.current.policies.queue)).toMatch(/256/)
      expect((await embed(server, ["a", "b"])).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})

describe("model failure", () => {
  it("424 (TEI) / 500 (OpenAI) with the reason for the request whose input fails; a good request in the same batch succeeds", async () => {
    const model = probe({ poison: "poison" })
    const server = await start({ isolateFailures: true }, { model: model.layer })
    try {
      model.close()
      const blocker = embed(server, "blocker")
      await eventually(() => model.batches() === 1)
      const bad = embed(server, ["a fine text", "poison"])
      const good = embed(server, ["a good text"])
      const badOpenAI = post(server, "/v1/embeddings", { input: "poison" })
      await eventually(async () => (await queued(server)) === 4)
      model.open()
      const [badReply, goodReply, badOpenAIReply] = await Promise.all([bad, good, badOpenAI])
      expect(badReply.status).toBe(424)
      expect(badReply.json).toEqual({ error: "inference failed: poisoned input", error_type: "Backend" })
      expect(goodReply.status).toBe(200)
      expect(goodReply.json).toHaveLength(1)
      expect(badOpenAIReply.status).toBe(500)
      expect(badOpenAIReply.json.error).toMatchObject({ code: "inference_failed", type: "server_error" })
      expect((await blocker).status).toBe(200)
    } finally {
      model.open()
      await server.close()
    }
  })
})

describe("draining", () => {
  it("finishes queued and in-flight requests, refuses new ones with 503, then stops", async () => {
    const model = probe()
    const server = await start({ drainTimeoutMs: 10_000 }, { model: model.layer })
    model.close()
    const first = embed(server, "in flight")
    await eventually(() => model.batches() === 1)
    const second = embed(server, "queued")
    await eventually(async () => (await queued(server)) === 1)
    const closing = server.close()
    await eventually(async () => (await get(server, "/ready")).status === 503)
    expect((await get(server, "/ready")).json).toEqual({ status: "draining" })
    const refused = await embed(server, "too late")
    expect(refused.status).toBe(503)
    expect(refused.json).toEqual({
      error: "server is shutting down: no new requests are accepted",
      error_type: "Unhealthy"
    })
    expect(refused.headers.get("retry-after")).toBe("1")
    expect(refused.headers.get("connection")).toBe("close")
    model.open()
    expect((await first).status).toBe(200)
    expect((await second).status).toBe(200)
    await closing
    expect(model.computed()).toBe(2)
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })

  it("answers 503 to what is still unfinished when the drain timeout passes", async () => {
    const model = probe()
    const server = await start({ drainTimeoutMs: 300 }, { model: model.layer })
    try {
      model.close()
      const first = embed(server, "in flight")
      await eventually(() => model.batches() === 1)
      const second = embed(server, "queued")
      await eventually(async () => (await queued(server)) === 1)
      const closing = server.close()
      const [firstReply, secondReply] = await Promise.all([first, second])
      for (const reply of [firstReply, secondReply]) {
        expect(reply.status).toBe(503)
        expect(reply.json.error_type).toBe("Unhealthy")
        expect(reply.json.error).toMatch(/shutting down/)
        expect(reply.headers.get("retry-after")).toBe("1")
      }
      await closing
    } finally {
      model.open()
    }
  })
})
