import { Embedder, EngineLayers } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"

const settings: EngineLayers.EngineSettings = {
  model: "echo",
  echoDimension: 8,
  workers: 1,
  threads: 1,
  recalibrate: false,
  tokenizerWorkers: 0,
  batchPolicy: "adaptive",
  maxBatchSize: 32,
  maxBatchTokens: 16384,
  targetLatencyMs: undefined,
  waitPolicy: "adaptive",
  maxWaitMs: 5,
  queueCapacity: 1024,
  overflow: "reject",
  shedLate: true,
  queueDynamic: undefined,
  requestTimeoutMs: 30_000,
  runTimeoutMs: undefined,
  drainTimeoutMs: 10_000,
  isolateFailures: true,
  feedWindow: undefined
}

describe("EngineLayers", () => {
  it("derives the model options: auto layouts, the run timeout from the request timeout", () => {
    const auto = EngineLayers.modelOptions({ ...settings, workers: undefined, threads: undefined })
    assert.strictEqual(auto.workers, "auto")
    assert.strictEqual(auto.intraOpNumThreads, "auto")
    assert.deepStrictEqual(auto.runTimeout, Duration.millis(31_000))
    assert.strictEqual(EngineLayers.runTimeoutMs({ ...settings, runTimeoutMs: 900 }), 900)
    assert.strictEqual(EngineLayers.tokenizerWorkers(settings), 0)
  })

  it.live("the layer's example: an Embedder on the echo model", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const { embeddings } = yield* embedder.embed(["hello", "world"])
      assert.strictEqual(embeddings.length, 2)
      assert.strictEqual(embeddings[0]!.length, 8)
    }).pipe(Effect.provide(EngineLayers.layer(settings))))
})
