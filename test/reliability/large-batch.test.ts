/**
 * Large client batches beside single texts: the real server in a child process with default
 * settings (queue of 1,024 inputs, client batch limit 2,048; the tiny ONNX model unless
 * `ADABATCH_LARGE_BATCH_MODEL` names another, e.g. `default`), single-text requests at a fixed
 * rate, first alone, then while requests of 2,048 inputs are sent back to back.
 *
 * Checked: every request is answered 200 and every large request carries 2,048 vectors (a request
 * twice the queue's capacity is fed into it, not refused). Measured (figures, no timed assertion):
 * the single-text latency p50/p99 alone and beside the large requests, and the large requests'
 * latency. For comparison with a large request queued whole (what the feed window avoids), run it
 * with `ADABATCH_FEED_WINDOW=1000000 ADABATCH_QUEUE_CAPACITY=4096` (the child server reads both).
 */
import { agent, send } from "@adabatch/testkit/Client"
import { nearestRank } from "@adabatch/testkit/Stats"
import { closedLoop, type LoadResult, openLoop } from "@adabatch/testkit/Traffic"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Child from "./harness/ChildServer.js"
import { Figures, round } from "./harness/Figures.js"
import { json } from "./harness/Json.js"
import { long } from "./harness/Settings.js"
import { text, texts } from "./harness/Texts.js"

const figures = new Figures("large-batch")
afterAll(() => figures.write())

const model = process.env["ADABATCH_LARGE_BATCH_MODEL"] ?? "tiny"
const phaseMs = long ? 20_000 : 2_500
const singlesPerSecond = Number(process.env["ADABATCH_LARGE_BATCH_SINGLES_RATE"] ?? 40)
const largeInputs = 2048
const wordsPerInput = 12

let server: Child.ChildServer
const via = agent(64)

beforeAll(async () => {
  server = await Child.start(["--model", model])
})

afterAll(async () => {
  via.destroy()
  await server?.stop()
})

const single = (i: number) =>
  send(server.port, { path: "/embed", body: { inputs: text(i, wordsPerInput) }, timeoutMs: 30_000 }, via)

const singles = (offset: number) =>
  openLoop({
    rate: singlesPerSecond,
    durationMs: phaseMs,
    maxRequests: Math.ceil((singlesPerSecond * phaseMs) / 1000) + 1,
    send: (i) => single(offset + i),
    keep: true
  })

const summary = (r: LoadResult) => ({
  sent: r.tally.sent,
  statuses: r.tally.statuses(),
  errors: r.tally.errorsByCode(),
  p50Ms: round(nearestRank(r.okLatencies, 0.5)),
  p99Ms: round(nearestRank(r.okLatencies, 0.99)),
  maxMs: round(nearestRank(r.okLatencies, 1))
})

describe("a 2,048-input request beside single texts", () => {
  it("every request is answered; the large ones in full; single-text latency is measured alone and beside", async () => {
    // warm-up: a few of each shape, not measured
    await Promise.all([
      single(0),
      single(1),
      send(server.port, { path: "/embed", body: { inputs: texts(0, 64, 8) } }, via)
    ])
    const alone = await singles(1000)

    let stop = false
    const large = closedLoop({
      clients: 1,
      durationMs: 10 * phaseMs,
      maxRequests: long ? 1000 : 50,
      keep: true,
      send: async (i) => {
        if (stop) return { status: 0, error: "not-sent", latencyMs: 0, headers: {}, body: Buffer.alloc(0) }
        return send(
          server.port,
          { path: "/embed", body: { inputs: texts(i + 1, largeInputs, wordsPerInput) }, timeoutMs: 60_000 },
          via
        )
      }
    })
    // singles start once the first large request is in the queue
    await new Promise((resolve) => setTimeout(resolve, 100))
    const beside = await singles(100_000)
    stop = true
    const largeResult = await large
    const sentLarge = largeResult.outcomes.filter((o) => o.error !== "not-sent")

    figures.set("settings", { model, phaseMs, singlesPerSecond, largeInputs, wordsPerInput })
    figures.set("alone", summary(alone))
    figures.set("beside", summary(beside))
    figures.set("large", {
      sent: sentLarge.length,
      statuses: Object.fromEntries(
        [...new Set(sentLarge.map((o) => o.status))].map((
          s
        ) => [String(s), sentLarge.filter((o) => o.status === s).length])
      ),
      p50Ms: round(nearestRank(sentLarge.filter((o) => o.status === 200).map((o) => o.latencyMs), 0.5)),
      inputsPerSecond: round(
        (sentLarge.filter((o) => o.status === 200).length * largeInputs) /
          (sentLarge.reduce((a, o) => a + o.latencyMs, 0) / 1000 || 1),
        0
      )
    })
    figures.set(
      "p99Ratio",
      round(nearestRank(beside.okLatencies, 0.99) / nearestRank(alone.okLatencies, 0.99), 2)
    )

    expect(alone.tally.status(200)).toBe(alone.tally.sent)
    expect(beside.tally.status(200)).toBe(beside.tally.sent)
    expect(sentLarge.length).toBeGreaterThanOrEqual(1)
    for (const o of sentLarge) {
      expect(o.status).toBe(200)
      const vectors = json(o) as Array<Array<number>>
      expect(vectors).toHaveLength(largeInputs)
      expect(vectors.every((v) => v.length > 0)).toBe(true)
    }
  })
})
