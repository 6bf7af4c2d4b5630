/**
 * The dashboard's data: the rates and quantiles between two metric readings, the sampler's ring,
 * and `GET /dashboard/feed` on the real server (the page itself is tested in Chromium:
 * `pages.test.ts`).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Feed from "../src/dashboard/Feed.js"
import * as MetricTotals from "../src/dashboard/MetricTotals.js"
import { ServerState } from "../src/ServerState.js"
import { embed, eventually, get, type Handle, start } from "./helpers.js"

const histogram = (counts: ReadonlyArray<number>, count: number, sum = 0): MetricTotals.Histogram => ({
  bounds: [1, 2, 4],
  counts,
  count,
  sum
})

const zeros = { ok: 0, client_error: 0, overloaded: 0, unavailable: 0, timeout: 0, server_error: 0, gone: 0 }
const empty = histogram([0, 0, 0], 0)
const totals = (overrides: Partial<MetricTotals.Totals>): MetricTotals.Totals => ({
  at: 0,
  requests: zeros,
  latency: empty,
  batchSize: empty,
  batchCost: empty,
  batchDuration: empty,
  queueWait: empty,
  tokens: empty,
  ...overrides
})

describe("MetricTotals", () => {
  it("sorts statuses into outcomes", () => {
    expect([200, 204, 400, 404, 413, 422, 429, 499, 500, 503, 504].map(MetricTotals.outcomeOf)).toEqual([
      "ok",
      "ok",
      "client_error",
      "client_error",
      "client_error",
      "client_error",
      "overloaded",
      "gone",
      "server_error",
      "unavailable",
      "timeout"
    ])
  })

  it("interpolates quantiles within buckets, as histogram_quantile", () => {
    const h = histogram([2, 6, 10], 10)
    expect(MetricTotals.quantile(h, 0.5)).toBeCloseTo(1.75)
    expect(MetricTotals.quantile(h, 0.1)).toBeCloseTo(0.5)
    expect(MetricTotals.quantile(h, 1)).toBeCloseTo(4)
    expect(MetricTotals.quantile(histogram([1, 1, 1], 3), 0.99)).toBe(4)
    expect(MetricTotals.quantile(empty, 0.5)).toBeUndefined()
  })

  it("takes the observations between two readings", () => {
    const d = MetricTotals.difference(histogram([3, 7, 12], 12, 30), histogram([2, 6, 10], 10, 20))
    expect(d).toEqual(histogram([1, 1, 2], 2, 10))
    expect(MetricTotals.mean(d)).toBe(5)
  })
})

describe("Feed.sample", () => {
  it("turns two readings into per-second rates, quantiles and levels", () => {
    const before = totals({ at: 1000 })
    const now = totals({
      at: 3000,
      requests: { ...zeros, ok: 10, overloaded: 4 },
      latency: histogram([0, 10, 14], 14),
      batchSize: histogram([0, 0, 4], 4, 12),
      batchCost: histogram([0, 0, 4], 4, 400),
      batchDuration: histogram([4, 4, 4], 4, 3),
      tokens: histogram([4, 4, 4], 4, 300)
    })
    const snapshot = {
      queued: 5,
      capacity: 100,
      overflow: "reject",
      workers: 2,
      busyWorkers: 1,
      maxBatchSize: 32,
      maxBatchCost: 4096,
      maxWaitMs: 5,
      arrivalRate: 7,
      accepting: true,
      saturated: false,
      policies: { batchSize: {}, wait: {}, queue: {} }
    } as const
    const s = Feed.sample(now, before, snapshot, { p50: 0.5, p99: 2, max: 3 }, 1_700_000_000)
    expect(s.requests_ok).toBe(5)
    expect(s.requests_overloaded).toBe(2)
    expect(s.requests_client_error).toBe(0)
    expect(s.latency_p50_ms).toBeCloseTo(1700)
    expect(s.batches_per_s).toBe(2)
    expect(s.batch_size_mean).toBe(3)
    expect(s.batch_cost_mean).toBe(100)
    expect(s.padded_tokens_per_s).toBe(200)
    expect(s.tokens_per_s).toBe(150)
    expect(s.worker_utilisation).toBe(0.75)
    expect([s.queue_depth, s.queue_capacity, s.batch_size_cap, s.batch_budget, s.wait_ms]).toEqual([
      5,
      100,
      32,
      4096,
      5
    ])
    expect(s.event_loop_p99_ms).toBe(2)
  })

  it("leaves gaps for what had nothing to measure, and levels empty while loading", () => {
    const s = Feed.sample(totals({ at: 1000 }), totals({ at: 0 }), undefined, undefined, 1)
    expect([s.latency_p50_ms, s.batch_size_mean, s.batch_size_cap, s.worker_utilisation, s.event_loop_max_ms])
      .toEqual([null, null, null, null, null])
    expect([s.requests_ok, s.queue_depth, s.tokens_per_s]).toEqual([0, 0, 0])
  })
})

describe("Feed.make", () => {
  it("samples on its interval and keeps only its window", async () => {
    const body = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const feed = yield* Feed.make(new ServerState(), { intervalMs: 20, windowSeconds: 0.1 })
      yield* Effect.sleep("300 millis")
      return feed.body(undefined)
    })))
    expect(body.phase).toBe("loading")
    expect(body.samples.length).toBeGreaterThanOrEqual(1)
    expect(body.samples.length).toBeLessThanOrEqual(5)
  })
})

describe("GET /dashboard/feed", () => {
  let server: Handle
  beforeAll(async () => {
    server = await start()
  })
  afterAll(() => server.close())

  it("counts API requests, not probes, and `since` gives only newer samples", async () => {
    for (let i = 0; i < 20; i++) expect((await get(server, "/health")).status).toBe(200)
    await eventually(async () => (await get(server, "/dashboard/feed")).json.samples.length >= 2)
    const quiet = (await get(server, "/dashboard/feed")).json
    expect(quiet.phase).toBe("ready")
    expect(quiet.model).toBe("echo")
    expect(quiet.samples.every((s: any) => s.requests_ok === 0 && s.latency_p50_ms === null)).toBe(true)

    const last = quiet.samples.at(-1).t
    for (let i = 0; i < 10; i++) expect((await embed(server, ["one", "two"])).status).toBe(200)
    await eventually(async () =>
      (await get(server, `/dashboard/feed?since=${last}`)).json.samples.some((s: any) => s.requests_ok > 0)
    )
    const newer = (await get(server, `/dashboard/feed?since=${last}`)).json.samples
    expect(newer.every((s: any) => s.t > last)).toBe(true)
    const busy = newer.find((s: any) => s.requests_ok > 0)
    expect(busy.latency_p50_ms).toBeGreaterThan(0)
    expect(newer.some((s: any) => s.batches_per_s > 0 && s.batch_size_mean >= 1 && s.tokens_per_s > 0)).toBe(true)
  })
})
