import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as EchoModel from "../../src/model/echo/EchoModel.js"
import { InferenceFailed, ModelLoadError } from "../../src/model/ModelError.js"
import * as ModelMetrics from "../../src/model/ModelMetrics.js"
import * as ModelTesting from "../../src/testing/ModelTesting.js"
import { makeTempRoot, text, vocabulary } from "./fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const norm = (v: Float32Array) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))

describe("EchoModel", () => {
  it.effect("built-in tokenizer: deterministic unit vectors that depend only on the token ids", () =>
    Effect.gen(function*() {
      const model = yield* EchoModel.make()
      assert.deepStrictEqual(model.info, {
        id: "echo",
        kind: "echo",
        path: undefined,
        dimension: 384,
        maxLength: 512,
        pooling: "mean",
        normalize: true,
        workers: 1,
        intraOpNumThreads: 1,
        prompts: {},
        tokenStates: false
      })
      const encoded = yield* model.tokenize(["Hello world", "hello WORLD", "other text", ""], { truncate: false })
      const vectors = yield* model.embedBatch(encoded)
      assert.strictEqual(vectors.length, 4)
      for (const v of vectors) {
        assert.strictEqual(v.length, 384)
        assert.closeTo(norm(v), 1, 1e-5)
      }
      assert.deepStrictEqual(Array.from(vectors[0]!), Array.from(vectors[1]!))
      assert.notDeepEqual(Array.from(vectors[0]!), Array.from(vectors[2]!))
      const alone = yield* model.embedBatch([encoded[2]!])
      assert.deepStrictEqual(Array.from(alone[0]!), Array.from(vectors[2]!))
      assert.deepStrictEqual(yield* model.embedBatch([]), [])
      yield* model.ping
      assert.isUndefined(ModelTesting.workerThreadIds(model))
      yield* ModelTesting.crashWorker(model) // a no-op without workers
    }))

  it.effect("respects maxLength: truncation and InputTooLong", () =>
    Effect.gen(function*() {
      const model = yield* EchoModel.make({ maxLength: 8, dimension: 32 })
      const long = text(30, 1)
      const [cut] = yield* model.tokenize([long], { truncate: true })
      assert.strictEqual(cut!.ids.length, 8)
      assert.strictEqual(cut!.ids[7], 102)
      assert.isTrue(cut!.truncated)
      const error = yield* Effect.flip(model.tokenize(["ok", long], { truncate: false }))
      assert.strictEqual(error._tag, "InputTooLong")
      if (error._tag === "InputTooLong") assert.deepStrictEqual([error.index, error.maxLength], [1, 8])
      const [vector] = yield* model.embedBatch([cut!])
      assert.strictEqual(vector!.length, 32)
    }))

  it.effect("with a directory: its tokenizer.json and length settings", () =>
    Effect.gen(function*() {
      const dir = temp.dir({
        model: null,
        files: { "adabatch.json": JSON.stringify({ id: "fixture", dimension: 24 }) }
      })
      const model = yield* EchoModel.make({ dir })
      assert.strictEqual(model.info.id, "echo:fixture")
      assert.strictEqual(model.info.dimension, 24)
      assert.strictEqual(model.info.maxLength, 64)
      const vocab = vocabulary()
      const [encoded] = yield* model.tokenize(["hello world"], { truncate: false })
      assert.deepStrictEqual(
        Array.from(encoded!.ids),
        ["[CLS]", "hello", "world", "[SEP]"].map((t) => vocab.indexOf(t))
      )
      const missing = yield* Effect.flip(EchoModel.make({ dir: temp.dir({ model: null, tokenizer: null }) }))
      assert.instanceOf(missing, ModelLoadError)
      const bad = yield* Effect.flip(EchoModel.make({ dimension: 0 }))
      assert.match(bad.reason, /dimension must be a positive integer/)
    }))

  it.effect("poison inputs fail their batch", () =>
    Effect.gen(function*() {
      const model = yield* EchoModel.make()
      const [poison] = yield* model.tokenize(["explode"], { truncate: false })
      const poisoned = yield* EchoModel.make({ faults: { poisonTokenId: poison!.ids[1]!, action: "crash" } })
      const batch = yield* poisoned.tokenize(["fine", "please explode now"], { truncate: false })
      const error = yield* Effect.flip(poisoned.embedBatch(batch))
      assert.instanceOf(error, InferenceFailed)
      assert.strictEqual((yield* poisoned.embedBatch([batch[0]!])).length, 1)
    }))

  it.effect("records batch metrics", () =>
    Effect.gen(function*() {
      const model = yield* EchoModel.make()
      const encoded = yield* model.tokenize(["one two", "one"], { truncate: false }) // 4 and 3 tokens
      yield* model.embedBatch(encoded)
      assert.strictEqual((yield* Metric.value(ModelMetrics.batchTokens)).sum, 7)
      assert.closeTo((yield* Metric.value(ModelMetrics.paddingRatio)).sum, 1 / 8, 1e-9)
      assert.strictEqual((yield* Metric.value(ModelMetrics.inferenceMsFor("echo"))).count, 1)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
