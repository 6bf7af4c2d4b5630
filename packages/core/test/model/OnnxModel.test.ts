/**
 * The ONNX model end to end: real onnxruntime sessions in real worker threads, real tokenizer
 * files (fixture directories written by `fixtures.ts`).
 */
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as fc from "fast-check"
import { EmbeddingModel, type Encoded } from "../../src/model/EmbeddingModel.js"
import * as ModelMetrics from "../../src/model/ModelMetrics.js"
import * as ModelSource from "../../src/model/ModelSource.js"
import * as OnnxModel from "../../src/model/onnx/OnnxModel.js"
import * as ModelTesting from "../../src/testing/ModelTesting.js"
import { makeTempRoot, text, vocabulary } from "./fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const SEP = vocabulary().indexOf("[SEP]")

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  assert.strictEqual(a.length, b.length)
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))

const embedAlone = (model: EmbeddingModel["Service"], input: Encoded) =>
  Effect.map(model.embedBatch([input]), (vectors) => vectors[0]!)

const textArbitrary = (maxWords: number) =>
  fc.oneof(
    fc.record({ words: fc.integer({ min: 0, max: maxWords }), seed: fc.nat() }).map(({ seed, words }) =>
      text(words, seed)
    ),
    fc.string({ unit: "grapheme", maxLength: 60 }),
    fc.constant("")
  )

/**
 * The correctness invariant of padded batching, as a property: every text of a random batch (any
 * lengths, any positions; over-long texts truncated) gets the same embedding, within 1e-5, as
 * when it is embedded alone.
 */
const paddingInvariant = (maxWords: number) =>
  Effect.gen(function*() {
    const model = yield* EmbeddingModel
    yield* Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(textArbitrary(maxWords), { minLength: 1, maxLength: 8 }), (texts) =>
          Effect.runPromise(Effect.gen(function*() {
            const encoded = yield* model.tokenize(texts, { truncate: true })
            const together = yield* model.embedBatch(encoded)
            for (let i = 0; i < encoded.length; i++) {
              const alone = yield* embedAlone(model, encoded[i]!)
              const diff = maxAbsDiff(together[i]!, alone)
              if (diff >= 1e-5) return yield* Effect.die(`text ${i} of ${texts.length} differs by ${diff}`)
            }
          }))),
        { numRuns: 25 }
      )
    )
  })

layer(ModelSource.layer({ model: "tiny", workers: 2, intraOpNumThreads: 1 }), { excludeTestServices: true })(
  "the built-in tiny model (MiniLM-shaped BERT) in real workers",
  (it) => {
    it.effect("padding invariant (property): alone == in a batch of any lengths, in any position", () =>
      paddingInvariant(160))
  }
)

layer(OnnxModel.layer({ dir: temp.dir({}), workers: 2, intraOpNumThreads: 1 }), { excludeTestServices: true })(
  "OnnxModel (token states pooled in the worker)",
  (it) => {
    it.effect("describes itself", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        assert.strictEqual(model.info.kind, "onnx")
        assert.strictEqual(model.info.dimension, 16)
        assert.strictEqual(model.info.maxLength, 64)
        assert.strictEqual(model.info.workers, 2)
        assert.strictEqual(model.info.intraOpNumThreads, 1)
        const threads = ModelTesting.workerThreadIds(model)!
        assert.strictEqual(threads.length, 2)
        for (const id of threads) assert.isNumber(id)
        yield* model.ping
      }))

    it.effect("returns one unit vector per input, in order, deterministically", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        const texts = ["hello world", "the lazy dog", "", text(40, 3)]
        const encoded = yield* model.tokenize(texts, { truncate: false })
        const vectors = yield* model.embedBatch(encoded)
        assert.strictEqual(vectors.length, 4)
        for (const v of vectors) {
          assert.strictEqual(v.length, 16)
          assert.closeTo(norm(v), 1, 1e-5)
        }
        assert.isAbove(maxAbsDiff(vectors[0]!, vectors[1]!), 1e-3, "different texts, different vectors")
        const reversed = yield* model.embedBatch([...encoded].reverse())
        for (let i = 0; i < 4; i++) assert.isBelow(maxAbsDiff(vectors[i]!, reversed[3 - i]!), 1e-5)
        assert.deepStrictEqual(yield* model.embedBatch([]), [])
      }))

    it.effect("padding invariant (property): alone == in a batch of any lengths, in any position", () =>
      paddingInvariant(80))

    it.effect("truncation cuts to the maximum length, keeps [SEP], and the cut input embeds", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        const long = text(200, 9)
        const [cut] = yield* model.tokenize([long], { truncate: true })
        assert.strictEqual(cut!.ids.length, 64)
        assert.strictEqual(cut!.ids[63], SEP)
        assert.isTrue(cut!.truncated)
        const [vector] = yield* model.embedBatch([cut!])
        assert.closeTo(norm(vector!), 1, 1e-5)
        const error = yield* Effect.flip(model.tokenize(["short", long], { truncate: false }))
        assert.strictEqual(error._tag, "InputTooLong")
        if (error._tag === "InputTooLong") {
          assert.strictEqual(error.index, 1)
          assert.strictEqual(error.maxLength, 64)
          assert.isAbove(error.tokens, 64)
        }
      }))

    it.effect("runs concurrent batches on both workers and answers each correctly", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        const before = yield* Effect.all([0, 1].map((w) => Metric.value(ModelMetrics.inferenceMsFor(w))))
        const batches = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, b) =>
            Array.from({ length: 1 + (b % 4) }, (_, i) => text(5 + 7 * i, b * 10 + i))),
          (texts) =>
            model.tokenize(texts, { truncate: true })
        )
        const sequential = yield* Effect.forEach(batches, (batch) => model.embedBatch(batch))
        const concurrent = yield* Effect.forEach(batches, (batch) => model.embedBatch(batch), {
          concurrency: "unbounded"
        })
        for (let b = 0; b < batches.length; b++) {
          for (let i = 0; i < batches[b]!.length; i++) {
            assert.isBelow(maxAbsDiff(sequential[b]![i]!, concurrent[b]![i]!), 1e-5)
          }
        }
        const after = yield* Effect.all([0, 1].map((w) => Metric.value(ModelMetrics.inferenceMsFor(w))))
        assert.isAbove(after[0]!.count - before[0]!.count, 0, "worker 0 ran batches")
        assert.isAbove(after[1]!.count - before[1]!.count, 0, "worker 1 ran batches")
        assert.strictEqual(after[0]!.count + after[1]!.count - before[0]!.count - before[1]!.count, 24)
      }))

    it.effect("records tokens and padding per batch", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        const encoded = yield* model.tokenize(["hello world", "the"], { truncate: false }) // 4 and 3 tokens
        yield* model.embedBatch(encoded)
        const tokens = yield* Metric.value(ModelMetrics.batchTokens)
        const padding = yield* Metric.value(ModelMetrics.paddingRatio)
        assert.strictEqual(tokens.count, 1)
        assert.strictEqual(tokens.sum, 7)
        assert.strictEqual(padding.count, 1)
        assert.closeTo(padding.sum, 1 / 8, 1e-9)
        const tokenization = yield* Metric.value(ModelMetrics.tokenizationMs)
        assert.strictEqual(tokenization.count, 1)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

    it.effect("reuses the int64 input buffers across batches", () =>
      Effect.gen(function*() {
        const model = yield* EmbeddingModel
        const encoded = yield* model.tokenize([text(10, 1), text(12, 2)], { truncate: false })
        yield* model.embedBatch(encoded)
        const before = ModelTesting.inputBufferStats(model)!
        for (let i = 0; i < 20; i++) yield* model.embedBatch(encoded)
        const after = ModelTesting.inputBufferStats(model)!
        assert.isTrue(after.reuse)
        assert.strictEqual(after.acquired - before.acquired, 20)
        assert.strictEqual(after.allocated, before.allocated, "no new buffers for batches of a known size")
      }))
  }
)

describe("OnnxModel output variants", () => {
  it.live("uses sentence_embedding when the model has it, and honours normalize: false and cls pooling", () =>
    Effect.gen(function*() {
      const texts = ["hello world", "the quick brown fox", ""]
      const embed = (dir: string) =>
        Effect.scoped(Effect.gen(function*() {
          const model = yield* OnnxModel.make({ dir, intraOpNumThreads: 1 })
          return yield* model.embedBatch(yield* model.tokenize(texts, { truncate: false }))
        }))
      const tokensMean = yield* embed(temp.dir({ files: { "adabatch.json": JSON.stringify({ normalize: false }) } }))
      const graphMean = yield* embed(temp.dir({
        model: { outputs: ["sentence_embedding", "last_hidden_state"] },
        files: { "adabatch.json": JSON.stringify({ normalize: false }) }
      }))
      // The graph's masked mean and the worker's masked mean agree.
      for (let i = 0; i < texts.length; i++) assert.isBelow(maxAbsDiff(tokensMean[i]!, graphMean[i]!), 1e-5)
      assert.isAbove(Math.abs(norm(tokensMean[0]!) - 1), 1e-3, "not normalised")
      const cls = yield* embed(temp.dir({ files: { "adabatch.json": JSON.stringify({ pooling: "cls" }) } }))
      assert.closeTo(norm(cls[0]!), 1, 1e-5)
      assert.isAbove(maxAbsDiff(cls[0]!, tokensMean[0]!.map((x) => x / norm(tokensMean[0]!))), 1e-3)
    }))

  it.live("works without token_type_ids, and with reuse of input buffers off", () =>
    Effect.scoped(Effect.gen(function*() {
      const model = yield* OnnxModel.make({
        dir: temp.dir({ model: { tokenTypes: false } }),
        intraOpNumThreads: 1,
        reuseInputBuffers: false
      })
      const encoded = yield* model.tokenize(["hello world", "one two"], { truncate: false })
      for (let i = 0; i < 5; i++) yield* model.embedBatch(encoded)
      const stats = ModelTesting.inputBufferStats(model)!
      assert.isFalse(stats.reuse)
      assert.strictEqual(stats.allocated, 5)
      assert.strictEqual(stats.allocatedBytes, 5 * 2 * 2 * 4 * 8) // ids + mask, 2 x 4 int64 each
    })))
})

describe("OnnxModel thread spinning", () => {
  it.live("every spinning mode starts its sessions (onnxruntime accepts the settings) and gives the same vectors", () =>
    Effect.gen(function*() {
      const dir = temp.dir({})
      const texts = ["hello world", "the quick brown fox jumps"]
      const embed = (spinning: "run" | "always" | "off") =>
        Effect.scoped(Effect.gen(function*() {
          const model = yield* OnnxModel.make({ dir, intraOpNumThreads: 2, spinning })
          return yield* model.embedBatch(yield* model.tokenize(texts, { truncate: false }))
        }))
      const run = yield* embed("run")
      for (const mode of ["always", "off"] as const) {
        const other = yield* embed(mode)
        for (let i = 0; i < texts.length; i++) assert.isBelow(maxAbsDiff(run[i]!, other[i]!), 1e-5, mode)
      }
    }))
})
