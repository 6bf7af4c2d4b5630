/**
 * Model faults, against the real server (in this process, on 127.0.0.1) running the tiny ONNX model
 * in real worker threads, with the model's fault injection (`FaultInjection`: a batch containing the
 * "poison" token fails, crashes its worker, or hangs it):
 *
 * - a model that throws on a poison input fails only that request (`isolateFailures`);
 * - a worker that exits mid-batch fails only that batch, is replaced, and the server keeps serving;
 * - a model that hangs past the deadline gives 504s, not a stuck server.
 */
import { ModelTesting } from "@adabatch/core/testing"
import { agent, eventually, type Outcome, send, sleep } from "@adabatch/testkit/Client"
import * as Metrics from "@adabatch/testkit/Prometheus"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Http from "node:http"
import { Figures, round } from "./harness/Figures.js"
import * as InProcess from "./harness/InProcess.js"
import { json } from "./harness/Json.js"
import { text } from "./harness/Texts.js"

const figures = new Figures("faults")
afterAll(() => figures.write())

const POISON_WORD = "zyzzyva"
const good = Array.from({ length: 48 }, (_, i) => text(i, 12))
const poisoned = (i: number) => `${text(1000 + i, 10)} ${POISON_WORD}`

let poisonId: number | undefined
const poison = async () => (poisonId ??= await InProcess.poisonToken("tiny", POISON_WORD, good))

const f32 = (rows: ReadonlyArray<ReadonlyArray<number>>) => rows.map((r) => r.map((x) => Math.fround(x)))

const diff = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<ReadonlyArray<number>>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.length !== b[i]!.length) return Infinity
    for (let j = 0; j < a[i]!.length; j++) d = Math.max(d, Math.abs(a[i]![j]! - b[i]![j]!))
  }
  return d
}

const embed = (server: { port: number }, inputs: string | ReadonlyArray<string>, via: Http.Agent, timeoutMs = 30_000) =>
  send(server.port, { path: "/embed", body: { inputs }, timeoutMs }, via)

const metrics = async (server: { port: number }, via: Http.Agent) =>
  (await send(server.port, { path: "/metrics" }, via)).body.toString("utf8")

/** Reference vectors of the good texts, each computed alone. */
const references = async (server: { port: number }, via: Http.Agent, texts: ReadonlyArray<string>) => {
  const out: Array<Array<number>> = []
  for (const t of texts) {
    const o = await embed(server, t, via)
    expect(o.status).toBe(200)
    out.push(f32(json(o))[0]!)
  }
  return out
}

/** Waits until worker 0 is up with a thread id other than `previous`; returns it. */
const replaced = async (model: Parameters<typeof ModelTesting.workerThreadIds>[0], previous: number | undefined) => {
  let id: number | undefined
  await eventually(
    () => {
      id = ModelTesting.workerThreadIds(model)?.[0]
      return id !== undefined && id !== previous
    },
    30_000,
    "a live worker"
  )
  return id!
}

const errorOf = (o: Outcome): string => {
  const body = json(o)
  return typeof body?.error === "string" ? body.error : JSON.stringify(body)
}

describe("a model that throws on a poison input", () => {
  it("fails only the request with that input; every other request in the same batches succeeds", async () => {
    const server = await InProcess.start(
      { workers: 1, isolateFailures: true, waitPolicy: "fixed", maxWaitMs: 40 },
      { faults: { poisonTokenId: await poison(), action: "fail" } }
    )
    const via = agent(128)
    try {
      const reference = await references(server, via, good.slice(0, 24))
      const before = await metrics(server, via)
      // all at once, so the poisoned inputs share batches with good ones
      const goodReplies = good.slice(0, 24).map((t) => embed(server, t, via))
      const poisonReplies = Array.from({ length: 4 }, (_, i) => embed(server, poisoned(i), via))
      const mixed = embed(server, [good[30]!, poisoned(9), good[31]!], via)
      const goods = await Promise.all(goodReplies)
      const poisons = await Promise.all(poisonReplies)
      const mixedReply = await mixed
      const after = await metrics(server, via)

      for (let i = 0; i < goods.length; i++) {
        expect(goods[i]!.status).toBe(200)
        expect(diff(f32(json(goods[i]!)), [reference[i]!])).toBeLessThan(1e-5)
      }
      for (const p of poisons) {
        expect(p.status).toBe(424)
        expect(json(p).error_type).toBe("Backend")
        expect(errorOf(p)).toMatch(/injected failure/)
      }
      expect(mixedReply.status).toBe(424)
      const batches = Metrics.value(after, "adabatch_batches_total") - Metrics.value(before, "adabatch_batches_total")
      // the 29 requests (31 inputs) went out in fewer batches than requests: poison and good shared batches
      expect(batches).toBeLessThan(29)
      // the server still serves
      expect((await embed(server, good[40]!, via)).status).toBe(200)
      figures.set("poisonFail", {
        goodRequests: goods.length,
        goodSucceeded: goods.filter((g) => g.status === 200).length,
        poisonRequests: poisons.length + 1,
        poisonFailed: poisons.filter((p) => p.status === 424).length + (mixedReply.status === 424 ? 1 : 0),
        batches
      })
    } finally {
      via.destroy()
      await server.close()
    }
  })
})

describe("a worker that exits mid-batch", () => {
  it("without isolation: fails only that batch; the worker is replaced and the server keeps serving", async () => {
    const server = await InProcess.start(
      { workers: 1, isolateFailures: false, waitPolicy: "fixed", maxWaitMs: 40 },
      { faults: { poisonTokenId: await poison(), action: "crash" } }
    )
    const via = agent(128)
    try {
      const reference = await references(server, via, good.slice(0, 16))
      const threadBefore = ModelTesting.workerThreadIds(server.modelService())![0]
      const before = await metrics(server, via)
      // one wave that shares a batch with the poison, then one after it
      const wave = [embed(server, poisoned(0), via), ...good.slice(0, 7).map((t) => embed(server, t, via))]
      const first = await Promise.all(wave)
      const failed = first.filter((o) => o.status === 424)
      for (const o of first) expect([200, 424]).toContain(o.status)
      expect(first[0]!.status).toBe(424)
      for (const o of failed) expect(errorOf(o)).toMatch(/worker 0 exited with code \d+ while running this batch/)
      await eventually(() => ModelTesting.workerRestarts(server.modelService()) === 1, 30_000, "the worker restart")
      const second = await Promise.all(good.slice(0, 16).map((t) => embed(server, t, via)))
      for (let i = 0; i < second.length; i++) {
        expect(second[i]!.status).toBe(200)
        expect(diff(f32(json(second[i]!)), [reference[i]!])).toBeLessThan(1e-5)
      }
      const after = await metrics(server, via)
      const failedInputs = Metrics.outcomes(after).failed! - Metrics.outcomes(before).failed!
      // exactly the inputs of the crashed batch failed: one batch, at most the batch cap
      expect(failedInputs).toBe(failed.length)
      expect(failed.length).toBeLessThanOrEqual(32)
      const threadAfter = ModelTesting.workerThreadIds(server.modelService())![0]
      expect(threadAfter).toBeDefined()
      expect(threadAfter).not.toBe(threadBefore)
      expect(Metrics.value(after, "adabatch_model_worker_restarts_total")).toBeGreaterThanOrEqual(1)
      expect((await send(server.port, { path: "/health" }, via)).status).toBe(200)
      figures.set("crashNoIsolation", {
        requestsInWave: first.length,
        failedWithTheBatch: failed.length,
        succeededAfterReplacement: second.filter((o) => o.status === 200).length,
        restarts: ModelTesting.workerRestarts(server.modelService())
      })
    } finally {
      via.destroy()
      await server.close()
    }
  })

  it("with isolation: only the poison request fails; the rest of its batch is retried and succeeds", async () => {
    const server = await InProcess.start(
      { workers: 1, isolateFailures: true, waitPolicy: "fixed", maxWaitMs: 40 },
      { faults: { poisonTokenId: await poison(), action: "crash" } }
    )
    const via = agent(128)
    try {
      const reference = await references(server, via, good.slice(0, 7))
      const wave = await Promise.all([
        embed(server, poisoned(1), via),
        ...good.slice(0, 7).map((t) => embed(server, t, via))
      ])
      expect(wave[0]!.status).toBe(424)
      for (let i = 1; i < wave.length; i++) {
        expect(wave[i]!.status).toBe(200)
        expect(diff(f32(json(wave[i]!)), [reference[i - 1]!])).toBeLessThan(1e-5)
      }
      const restarts = ModelTesting.workerRestarts(server.modelService())!
      expect(restarts).toBeGreaterThanOrEqual(1)
      expect((await embed(server, good[20]!, via)).status).toBe(200)
      // an idle worker that dies (process.exit, or an uncaught exception) is replaced too
      for (const mode of ["exit", "throw"] as const) {
        const thread = await replaced(server.modelService(), undefined)
        await Effect.runPromise(ModelTesting.crashWorker(server.modelService(), { mode }))
        await replaced(server.modelService(), thread)
      }
      const after = await Promise.all(good.slice(0, 7).map((t) => embed(server, t, via)))
      for (let i = 0; i < after.length; i++) {
        expect(after[i]!.status).toBe(200)
        expect(diff(f32(json(after[i]!)), [reference[i]!])).toBeLessThan(1e-5)
      }
      figures.set("crashWithIsolation", {
        requestsInWave: wave.length,
        failed: wave.filter((o) => o.status === 424).length,
        restartsForThePoison: restarts,
        idleCrashesSurvived: 2,
        totalRestarts: ModelTesting.workerRestarts(server.modelService())
      })
    } finally {
      via.destroy()
      await server.close()
    }
  })
})

describe("a model that hangs past the deadline", () => {
  const timeoutMs = 800
  const runTimeoutMs = 1_600

  /**
   * Sends a poisoned (hanging) request, and good requests one after another from the same moment
   * until three in a row succeed again (at most 6 s).
   */
  const hang = async (withRunTimeout: boolean, workers: number) => {
    const server = await InProcess.start(
      { workers, isolateFailures: true, requestTimeoutMs: timeoutMs },
      {
        faults: { poisonTokenId: await poison(), action: "hang" },
        ...(withRunTimeout ? { runTimeout: `${runTimeoutMs} millis` } : {})
      }
    )
    const via = agent(128)
    try {
      expect((await embed(server, good[0]!, via)).status).toBe(200)
      const started = performance.now()
      const hung = embed(server, poisoned(2), via)
      await sleep(20)
      const during: Array<{ readonly t: number; readonly status: number | undefined }> = []
      let streak = 0
      for (let i = 0; streak < 3 && performance.now() - started < 6_000; i++) {
        const o = await embed(server, good[i % good.length]!, via, 10_000)
        during.push({ t: round(performance.now() - started, 0), status: o.status })
        streak = o.status === 200 ? streak + 1 : 0
        await sleep(25)
      }
      const hungReply = await hung
      // the hung worker is terminated at the run timeout and replaced
      if (withRunTimeout) {
        await eventually(
          () => (ModelTesting.workerRestarts(server.modelService()) ?? 0) >= 1,
          15_000,
          "the worker restart"
        )
      }
      const firstOfStreak = streak >= 3 ? during[during.length - 3]!.t : undefined
      return {
        hungStatus: hungReply.status,
        hungError: json(hungReply)?.error_type,
        hungMs: round(hungReply.latencyMs, 0),
        goodDuring: during.length,
        goodStatuses: Object.fromEntries(
          [...new Set(during.map((d) => d.status))].map((
            st
          ) => [String(st), during.filter((d) => d.status === st).length])
        ),
        statuses: during.map((d) => d.status),
        servingAgainAfterMs: firstOfStreak,
        restarts: ModelTesting.workerRestarts(server.modelService()),
        health: streak >= 3 ? (await send(server.port, { path: "/health", timeoutMs: 15_000 }, via)).status : undefined
      }
    } finally {
      via.destroy()
      await server.close()
    }
  }

  it("one worker with a run timeout: 504 at the deadline, the worker is replaced, the server serves again", async () => {
    const r = await hang(true, 1)
    figures.set("hangOneWorker", { timeoutMs, runTimeoutMs, ...r, statuses: undefined })
    expect(r.hungStatus).toBe(504)
    expect(r.hungError).toBe("Overloaded")
    // the 504 comes at the deadline, before the run timeout
    expect(r.hungMs).toBeLessThan(runTimeoutMs)
    for (const status of r.statuses) expect([200, 504]).toContain(status)
    expect(r.servingAgainAfterMs).toBeDefined()
    expect(r.restarts).toBeGreaterThanOrEqual(1)
    expect(r.health).toBe(200)
  })

  it("two workers with a run timeout: 504 for the hung request, every other request is served meanwhile", async () => {
    const r = await hang(true, 2)
    figures.set("hangTwoWorkers", { timeoutMs, runTimeoutMs, ...r, statuses: undefined })
    expect(r.hungStatus).toBe(504)
    expect(r.statuses.every((s) => s === 200)).toBe(true)
    expect(r.restarts).toBeGreaterThanOrEqual(1)
    expect(r.health).toBe(200)
  })

  it("the server's own model settings (no run timeout): a hung batch does not leave the server stuck", async () => {
    const r = await hang(false, 1)
    figures.set("hangServerDefaults", { timeoutMs, ...r, statuses: undefined })
    expect(r.hungStatus).toBe(504)
    expect(r.servingAgainAfterMs).toBeDefined()
  })
})
