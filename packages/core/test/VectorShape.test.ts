/**
 * `dimensions` and `normalize`, applied once in core: the pure rules (`VectorShape`), then through
 * `Embedder.embed` on real ONNX fixture models, one whose worker normalises and one that does not.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import * as fc from "fast-check"
import * as BatchSizePolicy from "../src/batching/BatchSizePolicy.js"
import * as QueuePolicy from "../src/batching/QueuePolicy.js"
import * as WaitPolicy from "../src/batching/WaitPolicy.js"
import * as Embedder from "../src/Embedder.js"
import * as OnnxModel from "../src/model/onnx/OnnxModel.js"
import * as VectorShape from "../src/VectorShape.js"
import { makeTempRoot } from "./model/fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const f32 = (xs: ReadonlyArray<number>) => new Float32Array(xs)
const list = (v: Float32Array) => Array.from(v)

describe("VectorShape", () => {
  it("normalises a copy, optionally truncated first, and keeps a zero vector at zero", () => {
    const v = f32([3, 4, 12])
    const unit = VectorShape.normalized(v)
    assert.deepStrictEqual(list(unit), [3 / 13, 4 / 13, 12 / 13].map(Math.fround))
    assert.deepStrictEqual(list(v), [3, 4, 12])
    assert.deepStrictEqual(list(VectorShape.normalized(v, 2)), [0.6, 0.8].map(Math.fround))
    assert.deepStrictEqual(list(VectorShape.normalized(new Float32Array(3))), [0, 0, 0])
    assert.strictEqual(VectorShape.norm(f32([3, 4])), 5)
  })

  it("a model that does not normalise: normalised here when asked, cut then re-normalised, or cut only", () => {
    const raw = [f32([3, 4, 12])]
    assert.deepStrictEqual(
      list(VectorShape.shape(raw, false, { normalize: true })[0]!),
      [3 / 13, 4 / 13, 12 / 13].map(Math.fround)
    )
    assert.deepStrictEqual(
      list(VectorShape.shape(raw, false, { dimensions: 2, normalize: true })[0]!),
      [0.6, 0.8].map(Math.fround)
    )
    assert.deepStrictEqual(list(VectorShape.shape(raw, false, { dimensions: 2, normalize: false })[0]!), [3, 4])
    // `normalize` defaults to the model's: raw vectors stay raw, cut or not
    assert.deepStrictEqual(list(VectorShape.shape(raw, false, { dimensions: 2 })[0]!), [3, 4])
    assert.strictEqual(VectorShape.shape(raw, false, {}), raw)
    assert.strictEqual(VectorShape.shape(raw, false, { normalize: false }), raw)
    // all the dimensions (or more): the whole vector
    assert.deepStrictEqual(
      list(VectorShape.shape(raw, false, { dimensions: 3, normalize: true })[0]!),
      [3 / 13, 4 / 13, 12 / 13].map(Math.fround)
    )
    assert.strictEqual(VectorShape.shape(raw, false, { dimensions: 3, normalize: false })[0], raw[0])
  })

  it("a model that normalises: its unit vectors are never normalised again; a cut is re-normalised", () => {
    const unit = [f32([0.6, 0.8, 0])]
    assert.isUndefined(VectorShape.shaper(true, {}))
    assert.isUndefined(VectorShape.shaper(true, { normalize: true }))
    assert.isUndefined(VectorShape.shaper(true, { normalize: false }))
    assert.strictEqual(VectorShape.shape(unit, true, { dimensions: 3, normalize: true })[0], unit[0], "no copy")
    assert.deepStrictEqual(list(VectorShape.shape(unit, true, { dimensions: 1 })[0]!), [1])
    assert.deepStrictEqual(list(VectorShape.shape(unit, true, { dimensions: 1, normalize: false })[0]!), [
      Math.fround(0.6)
    ])
  })

  it("property: a cut asked normalised is unit length (or zero) and points the way of the cut", () => {
    fc.assert(fc.property(
      fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 32 }),
      fc.integer({ min: 1, max: 32 }),
      fc.boolean(),
      (values, dimensions, modelNormalizes) => {
        const v = f32(values)
        const [out] = VectorShape.shape([v], modelNormalizes, { dimensions, normalize: true })
        const cut = v.subarray(0, Math.min(dimensions, v.length))
        const whole = dimensions >= v.length
        if (whole && modelNormalizes) return out === v
        const n = VectorShape.norm(cut)
        assert.strictEqual(out!.length, cut.length)
        if (n === 0) return Array.from(out!).every((x) => x === 0)
        for (let i = 0; i < cut.length; i++) assert.closeTo(out![i]!, cut[i]! / n, 1e-6)
        return true
      }
    ))
  })

  it("checks dimensions against the model's", () => {
    assert.isUndefined(VectorShape.check({}, 16))
    assert.isUndefined(VectorShape.check({ dimensions: 1 }, 16))
    assert.isUndefined(VectorShape.check({ dimensions: 16 }, 16))
    for (const bad of [0, -1, 1.5, 17, Number.NaN]) assert.isString(VectorShape.check({ dimensions: bad }, 16))
  })
})

const engine = (dir: string) =>
  Embedder.layer().pipe(
    Layer.provide(OnnxModel.layer({ dir, workers: 1, intraOpNumThreads: 1 })),
    Layer.provide(Layer.mergeAll(
      BatchSizePolicy.fixed({ maxBatchSize: 8, maxBatchCost: 4096 }),
      WaitPolicy.fixed(1),
      QueuePolicy.layer({ capacity: 64, overflow: "reject" })
    ))
  )

const texts = ["hello world", "the quick brown fox"]

/** The vectors of `texts` with `options`, and whether the model normalises, from the fixture in `dir`. */
const embedWith = (dir: string, options: ReadonlyArray<Embedder.EmbedOptions>) =>
  Effect.gen(function*() {
    const embedder = yield* Embedder.Embedder
    const answers = yield* Effect.forEach(options, (o) => embedder.embed(texts, o))
    return { info: embedder.info, answers: answers.map((a) => a.embeddings) }
  }).pipe(Effect.provide(engine(dir)))

describe("Embedder.embed: dimensions and normalize", () => {
  it.live("a model that normalises: unit vectors either way, a cut re-normalised unless normalize is false", () =>
    Effect.gen(function*() {
      const { answers, info } = yield* embedWith(temp.dir(), [
        {},
        { normalize: true },
        { normalize: false },
        { dimensions: 4 },
        { dimensions: 4, normalize: false }
      ])
      assert.isTrue(info.normalize)
      const [model, normalized, notNormalized, cut, cutRaw] = answers
      model!.forEach((v, i) => {
        assert.strictEqual(v.length, info.dimension)
        assert.closeTo(VectorShape.norm(v), 1, 1e-5)
        assert.deepStrictEqual(list(normalized![i]!), list(v))
        assert.deepStrictEqual(list(notNormalized![i]!), list(v))
        assert.deepStrictEqual(list(cut![i]!), list(VectorShape.normalized(v, 4)))
        assert.deepStrictEqual(list(cutRaw![i]!), list(v.subarray(0, 4)))
      })
    }))

  it.live("a model that does not normalise: raw by default, normalised once in core when asked", () =>
    Effect.gen(function*() {
      const dir = temp.dir({ files: { "adabatch.json": JSON.stringify({ normalize: false }) } })
      const { answers, info } = yield* embedWith(dir, [
        {},
        { normalize: true },
        { dimensions: 4 },
        { dimensions: 4, normalize: true }
      ])
      assert.isFalse(info.normalize)
      const [raw, normalized, cut, cutNormalized] = answers
      raw!.forEach((v, i) => {
        assert.isAbove(Math.abs(VectorShape.norm(v) - 1), 1e-3, "the model's raw vector")
        assert.deepStrictEqual(list(normalized![i]!), list(VectorShape.normalized(v)))
        assert.deepStrictEqual(list(cut![i]!), list(v.subarray(0, 4)))
        assert.deepStrictEqual(list(cutNormalized![i]!), list(VectorShape.normalized(v, 4)))
      })
    }))

  it.live("a dimensions outside 1 to the model's dimension is a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.flatMap(Embedder.Embedder, (e) => e.embed(texts, { dimensions: 0 })).pipe(
          Effect.provide(engine(temp.dir()))
        )
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
    }))
})
