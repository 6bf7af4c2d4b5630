/**
 * Client disconnects: clients that give up while their request is queued (or, under back-pressure,
 * while it waits for room in the queue) must not have their inputs computed, the engine must count
 * them as `cancelled`, and the batches of the other clients must not be disturbed.
 *
 * The real server runs in this process on the tiny ONNX model. The model service is wrapped (not
 * replaced) so a test can hold the worker busy at a gate and see every input that reaches it.
 */
import type { EmbeddingModel } from "@adabatch/core"
import { eventually, type Outcome } from "@adabatch/testkit/Client"
import * as Metrics from "@adabatch/testkit/Prometheus"
import { connect, exchange, oneShot, requestBytes } from "@adabatch/testkit/RawHttp"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Latch } from "effect"
import type * as Net from "node:net"
import { Figures } from "./harness/Figures.js"
import * as InProcess from "./harness/InProcess.js"
import { json } from "./harness/Json.js"
import { text } from "./harness/Texts.js"

const figures = new Figures("disconnect")
afterAll(() => figures.write())

type ModelService = EmbeddingModel.EmbeddingModel["Service"]

/** Holds batches at a gate and records the token ids of every input the model computes. */
const observed = () => {
  const gate = Latch.makeUnsafe(true)
  const seen: Array<string> = []
  const batchSizes: Array<number> = []
  let arrived = 0
  const wrap = (inner: ModelService): ModelService => ({
    ...inner,
    embedBatch: (batch) =>
      Effect.suspend(() => {
        arrived++
        return gate.await.pipe(
          Effect.andThen(Effect.sync(() => {
            batchSizes.push(batch.length)
            for (const e of batch) seen.push(e.ids.join(","))
          })),
          Effect.andThen(inner.embedBatch(batch))
        )
      })
  })
  return {
    wrap,
    hold: () => void gate.closeUnsafe(),
    release: () => void gate.openUnsafe(),
    arrived: () => arrived,
    seen,
    batchSizes
  }
}

const keyOf = async (server: InProcess.InProcessServer, texts: ReadonlyArray<string>) =>
  (await Effect.runPromise(server.modelService().tokenize(texts, { truncate: true }))).map((e) => e.ids.join(","))

const getJson = async (port: number, path: string) => json(await oneShot(port, [requestBytes(port, "GET", path)]))

const metricsText = async (port: number) =>
  (await oneShot(port, [requestBytes(port, "GET", "/metrics")])).body.toString("utf8")

/** A request on its own connection, which the test can abandon (close the socket) at any time. */
const abandonable = async (port: number, body: object) => {
  const socket: Net.Socket = await connect(port)
  const answer = exchange(socket, [requestBytes(port, "POST", "/embed", body)], { timeoutMs: 30_000 })
  return { answer, abandon: () => socket.destroy(), close: () => socket.destroy() }
}

const f32 = (rows: ReadonlyArray<ReadonlyArray<number>>) => rows.map((r) => r.map((x) => Math.fround(x)))

const maxDiff = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<ReadonlyArray<number>>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < a[i]!.length; j++) d = Math.max(d, Math.abs(a[i]![j]! - b[i]![j]!))
  }
  return d
}

describe("clients that disconnect while queued", () => {
  it("are never computed, are counted as cancelled, and other clients' batches are not disturbed", async () => {
    const probe = observed()
    const server = await InProcess.start({ workers: 1, overflow: "reject" }, {}, probe.wrap)
    const port = server.port
    try {
      const blocker = text(1, 8)
      const stay = Array.from({ length: 10 }, (_, i) => `stay ${text(100 + i, 8)}`)
      const leave = Array.from({ length: 10 }, (_, i) => `leave ${text(200 + i, 8)}`)
      const leaveGroup = Array.from({ length: 3 }, (_, i) => `leave group ${text(300 + i, 8)}`)
      // reference vectors, computed alone
      const reference: Array<Array<number>> = []
      for (const t of stay) {
        const o = await oneShot(port, [requestBytes(port, "POST", "/embed", { inputs: t })])
        expect(o.status).toBe(200)
        reference.push(f32(json(o))[0]!)
      }
      const before = Metrics.outcomes(await metricsText(port))
      const seenBefore = probe.seen.length
      const batchesBefore = probe.batchSizes.length

      // the worker is busy with one batch, held at the gate
      probe.hold()
      const arrivedBefore = probe.arrived()
      const first = await abandonable(port, { inputs: blocker })
      await eventually(() => probe.arrived() === arrivedBefore + 1, 10_000, "the blocker batch")
      // queue 10 requests that will stay, 10 that will leave, and one 3-input request that will leave
      const staying = await Promise.all(stay.map((t) => abandonable(port, { inputs: t })))
      const leaving = await Promise.all(leave.map((t) => abandonable(port, { inputs: t })))
      const leavingGroup = await abandonable(port, { inputs: leaveGroup })
      await eventually(async () => (await getJson(port, "/ready")).queued === 23, 10_000, "23 queued inputs")
      // they disconnect
      for (const l of leaving) l.abandon()
      leavingGroup.abandon()
      const abandoned = await Promise.all([...leaving, leavingGroup].map((l) => l.answer))
      for (const o of abandoned) expect(o.status).toBeUndefined()
      await eventually(
        async () => Metrics.outcomes(await metricsText(port)).cancelled! - before.cancelled! === 13,
        10_000,
        "13 cancelled inputs"
      )
      expect((await getJson(port, "/ready")).queued).toBe(10)
      // the worker frees: the blocker and the 10 staying requests are computed
      probe.release()
      const firstReply: Outcome = await first.answer
      expect(firstReply.status).toBe(200)
      const stayed = await Promise.all(staying.map((s) => s.answer))
      for (let i = 0; i < stayed.length; i++) {
        expect(stayed[i]!.status).toBe(200)
        expect(maxDiff(f32(json(stayed[i]!)), [reference[i]!])).toBeLessThan(1e-5)
      }
      for (const s of [first, ...staying, ...leaving, leavingGroup]) s.close()

      const after = Metrics.outcomes(await metricsText(port))
      const computed = probe.seen.slice(seenBefore)
      const leftKeys = new Set(await keyOf(server, [...leave, ...leaveGroup]))
      const stayKeys = await keyOf(server, stay)
      // nothing of the clients that left reached the model; everything of those that stayed did
      expect(computed.filter((k) => leftKeys.has(k))).toEqual([])
      for (const k of stayKeys) expect(computed).toContain(k)
      expect(computed).toHaveLength(11)
      expect(after.cancelled! - before.cancelled!).toBe(13)
      expect(after.ok! - before.ok!).toBe(11)
      const batches = probe.batchSizes.slice(batchesBefore)
      figures.set("queued", {
        queuedInputs: 23,
        abandonedRequests: abandoned.length,
        abandonedInputs: 13,
        cancelledMetricDelta: after.cancelled! - before.cancelled!,
        abandonedInputsComputed: computed.filter((k) => leftKeys.has(k)).length,
        stayingRequests: stay.length,
        stayingSucceeded: stayed.filter((o) => o.status === 200).length,
        batchSizesAfterRelease: batches
      })
    } finally {
      probe.release()
      await server.close()
    }
  })

  it("under back-pressure, clients that leave while waiting for room are never computed either", async () => {
    const probe = observed()
    const server = await InProcess.start(
      { workers: 1, overflow: "backpressure", queueCapacity: 4, maxBatchSize: 4 },
      {},
      probe.wrap
    )
    const port = server.port
    try {
      const before = Metrics.outcomes(await metricsText(port))
      const seenBefore = probe.seen.length
      probe.hold()
      const arrivedBefore = probe.arrived()
      const first = await abandonable(port, { inputs: text(1, 8) })
      await eventually(() => probe.arrived() === arrivedBefore + 1, 10_000, "the blocker batch")
      // 4 fill the queue, 6 more wait for room; 3 of the waiting ones leave
      const queued = await Promise.all(
        Array.from({ length: 4 }, (_, i) => abandonable(port, { inputs: `q ${text(400 + i, 6)}` }))
      )
      await eventually(async () => (await getJson(port, "/ready")).queued >= 4, 10_000, "a full queue")
      const waiting = await Promise.all(
        Array.from({ length: 6 }, (_, i) => abandonable(port, { inputs: `w${i} ${text(500 + i, 6)}` }))
      )
      await eventually(
        async () => Metrics.value(await metricsText(port), "adabatch_http_requests_in_flight") >= 12,
        10_000,
        "11 requests in flight (and this scrape)"
      )
      const leaving = waiting.slice(0, 3)
      for (const l of leaving) l.abandon()
      await eventually(
        async () => Metrics.outcomes(await metricsText(port)).cancelled! - before.cancelled! === 3,
        10_000,
        "3 cancelled"
      )
      probe.release()
      const answers = await Promise.all([first, ...queued, ...waiting.slice(3)].map((r) => r.answer))
      for (const o of answers) expect(o.status).toBe(200)
      for (const r of [first, ...queued, ...waiting]) r.close()
      const leftKeys = new Set(await keyOf(server, Array.from({ length: 3 }, (_, i) => `w${i} ${text(500 + i, 6)}`)))
      const computed = probe.seen.slice(seenBefore)
      expect(computed.filter((k) => leftKeys.has(k))).toEqual([])
      expect(computed).toHaveLength(8)
      const after = Metrics.outcomes(await metricsText(port))
      expect(after.cancelled! - before.cancelled!).toBe(3)
      figures.set("waitingForRoom", {
        queued: 4,
        waitingForRoom: 6,
        leftWhileWaiting: 3,
        cancelledMetricDelta: after.cancelled! - before.cancelled!,
        computedOfThoseThatLeft: computed.filter((k) => leftKeys.has(k)).length,
        othersSucceeded: answers.filter((o) => o.status === 200).length
      })
    } finally {
      probe.release()
      await server.close()
    }
  })
})
