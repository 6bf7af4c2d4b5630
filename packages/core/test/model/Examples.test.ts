/**
 * The `@example`s of the model's entry points, run as written (type-checked with the tests):
 * `ModelSource.layer`, `OnnxModel.layer`, `EchoModel.layer` and `ModelTesting`. Keep each block
 * in step with its doc comment.
 */
import { BuiltinModel, EchoModel, EmbeddingModel, ModelSource, OnnxModel } from "@adabatch/core"
import { ModelTesting } from "@adabatch/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("model examples", () => {
  it("ModelSource.layer", async () => {
    const program = Effect.gen(function*() {
      const model = yield* EmbeddingModel.EmbeddingModel
      const encoded = yield* model.tokenize(["hello world", "a second text"], { truncate: true })
      const vectors = yield* model.embedBatch(encoded)
      return vectors.map((vector) => vector.length) // [model.info.dimension, model.info.dimension]
    })

    // "tiny": the small built-in model, generated on first use; or "default", "echo", a directory
    const dimensions = Effect.runPromise(program.pipe(Effect.provide(ModelSource.layer({ model: "tiny" }))))

    const [a, b] = await dimensions
    assert.isAbove(a!, 0)
    assert.strictEqual(a, b)
  })

  it("OnnxModel.layer", async () => {
    // a directory with model.onnx and tokenizer.json (and optionally adabatch.json)
    const ModelLive = (dir: string) => OnnxModel.layer({ dir, workers: 2, intraOpNumThreads: 1 })

    const program = Effect.gen(function*() {
      const model = yield* EmbeddingModel.EmbeddingModel
      return `${model.info.workers} workers, ${model.info.dimension} dimensions`
    })

    const describe = (dir: string) => Effect.runPromise(program.pipe(Effect.provide(ModelLive(dir))))

    const dir = await Effect.runPromise(BuiltinModel.ensureBuiltinModel("tiny"))
    assert.match(await describe(dir), /^2 workers, \d+ dimensions$/)
  })

  it("EchoModel.layer", async () => {
    const program = Effect.gen(function*() {
      const model = yield* EmbeddingModel.EmbeddingModel
      const [vector] = yield* model.embedBatch(yield* model.tokenize(["hello"], { truncate: true }))
      return vector!.length // 8
    })

    const eight = Effect.runPromise(program.pipe(Effect.provide(EchoModel.layer({ dimension: 8 }))))

    assert.strictEqual(await eight, 8)
  })

  it("ModelTesting", async () => {
    const restartsAfterACrash = Effect.scoped(
      Effect.gen(function*() {
        const model = yield* ModelSource.make({ model: "tiny" })
        yield* ModelTesting.crashWorker(model, { mode: "exit" })
        return ModelTesting.workerRestarts(model)
      })
    )

    // the crash is asynchronous: the restart count is 0 or 1 at this point
    const restarts = await Effect.runPromise(restartsAfterACrash)
    assert.oneOf(restarts, [0, 1])
  })
})
