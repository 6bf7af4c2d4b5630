/**
 * The model behind the engine, end to end in-process: real tiny ONNX model in real worker threads,
 * real tokenizer, the real engine with bucketing and a token budget.
 */
import {
  BatchError,
  BatchMetrics,
  BatchSizePolicy,
  BuiltinModel,
  Embedder,
  EmbeddingModel,
  ModelError,
  ModelSource,
  QueuePolicy,
  WaitPolicy
} from "@adabatch/core"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"

const Live = Embedder.layer({ isolateFailures: true }).pipe(
  Layer.provideMerge(ModelSource.layer({ model: "tiny", workers: 2, intraOpNumThreads: 1 })),
  Layer.provide(Layer.mergeAll(
    BatchSizePolicy.adaptive({ maxBatchSize: 16, maxBatchCost: 512 }),
    WaitPolicy.adaptive({ maxWaitMs: 2 }),
    QueuePolicy.layer({ capacity: 256, overflow: "backpressure" })
  ))
)

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

layer(Live, { timeout: 120_000, excludeTestServices: true })("Embedder over the tiny ONNX model", (it) => {
  it.effect("concurrent requests of mixed lengths get the same vectors as texts embedded alone", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const model = yield* EmbeddingModel.EmbeddingModel
      const texts = BuiltinModel.englishSentences.slice(0, 48).map((s, i) => i % 7 === 0 ? s + " " + s : s)
      const alone = yield* Effect.forEach(texts, (t) =>
        Effect.flatMap(
          model.tokenize([t], { truncate: true }),
          (enc) => Effect.map(model.embedBatch(enc), (v) => v[0]!)
        ))
      const together = yield* Effect.forEach(
        [texts.slice(0, 5), texts.slice(5, 6), texts.slice(6, 30), texts.slice(30)],
        (chunk) => embedder.embed(chunk, { truncate: true }),
        { concurrency: "unbounded" }
      )
      const vectors = together.flatMap((r) => r.embeddings)
      assert.strictEqual(vectors.length, texts.length)
      vectors.forEach((v, i) => {
        assert.strictEqual(v.length, embedder.info.dimension)
        assert.isBelow(maxAbsDiff(v, alone[i]!), 1e-5, `text ${i}`)
      })
      const r = together[2]!
      assert.strictEqual(r.tokens, r.tokenCounts.reduce((a, b) => a + b, 0))
      assert.isAtLeast(r.timings.totalMs, r.timings.tokenizationMs)
    }))

  it.effect("no batch exceeds the padded token budget", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const texts = BuiltinModel.englishSentences.slice(0, 64)
      yield* Effect.forEach(texts, (t) => embedder.embed([t], { truncate: true }), { concurrency: "unbounded" })
      const cost = yield* Metric.value(BatchMetrics.batchCost)
      assert.isAtMost(cost.max, 512)
      const sizes = yield* Metric.value(BatchMetrics.batchSize)
      assert.isAtMost(sizes.max, 16)
    }))

  it.effect("a text over the model's maximum length: InputTooLong, or cut with truncate", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const long = Array.from({ length: 400 }, () => "word").join(" ")
      const err = yield* Effect.flip(embedder.embed(["short", long]))
      assert.instanceOf(err, ModelError.InputTooLong)
      assert.strictEqual((err as ModelError.InputTooLong).index, 1)
      assert.strictEqual((err as ModelError.InputTooLong).maxLength, embedder.info.maxLength)
      const ok = yield* embedder.embed(["short", long], { truncate: true })
      assert.strictEqual(ok.tokenCounts[1], embedder.info.maxLength)
    }))

  it.effect("a request whose deadline passes before it is computed fails with DeadlineExceeded", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const err = yield* Effect.flip(embedder.embed(["hello"], { timeout: 0 }))
      assert.instanceOf(err, BatchError.DeadlineExceeded)
    }))

  it.effect("snapshot shows the policies' current values", () =>
    Effect.gen(function*() {
      const snap = yield* (yield* Embedder.Embedder).snapshot
      assert.strictEqual(snap.workers, 2)
      assert.strictEqual(snap.policies.batchSize.policy, "adaptive")
      assert.strictEqual(snap.policies.wait.policy, "adaptive")
      assert.strictEqual(snap.policies.queue.capacity, 256)
    }))
})

const Strict = Embedder.layer().pipe(
  Layer.provideMerge(ModelSource.layer({ model: "tiny", workers: 1, intraOpNumThreads: 1 })),
  Layer.provide(Layer.mergeAll(
    BatchSizePolicy.fixed({ maxBatchSize: 4 }),
    WaitPolicy.none,
    QueuePolicy.layer({ capacity: 4, overflow: "reject" })
  ))
)

layer(Strict, { timeout: 120_000, excludeTestServices: true })("Embedder.embed's admission", (it) => {
  it.effect("asks once and holds the room while it tokenizes; a request that fails there gives it back", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder.Embedder
      const tooLong = Array.from({ length: embedder.info.maxLength * 2 }, () => "word").join(" ")
      const err = yield* Effect.flip(embedder.embed(["a", tooLong, "b", "c"]))
      assert.instanceOf(err, ModelError.InputTooLong)
      // the 4 inputs' permit was released: the queue of 4 has room for 4 again
      assert.isUndefined(embedder.precheck(4))
      const ok = yield* embedder.embed(["a", "b", "c", "d"])
      assert.strictEqual(ok.embeddings.length, 4)
      assert.isUndefined(embedder.precheck(4))
    }))
})

describe("Embedder.lastToFinish", () => {
  it("gives the timings of one item, the one that left the engine last", () => {
    const timed = [
      { value: 0, queueMs: 900, batchMs: 50, batchSize: 4 },
      { value: 1, queueMs: 100, batchMs: 600, batchSize: 32 },
      { value: 2, queueMs: 300, batchMs: 200, batchSize: 8 }
    ]
    const last = Embedder.lastToFinish(timed)!
    assert.strictEqual(last.value, 0)
    // never the largest queue time of one item plus the largest batch time of another
    assert.strictEqual(last.queueMs + last.batchMs, 950)
    assert.isUndefined(Embedder.lastToFinish([]))
  })
})
