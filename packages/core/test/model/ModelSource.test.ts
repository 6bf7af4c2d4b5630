import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import { ModelLoadError } from "../../src/model/ModelError.js"
import * as ModelSource from "../../src/model/ModelSource.js"
import * as ModelTesting from "../../src/testing/ModelTesting.js"
import { makeTempRoot } from "./fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const info = (options: ModelSource.ModelSourceOptions) =>
  Effect.scoped(Effect.map(ModelSource.make(options), (model) => model.info))

describe("ModelSource", () => {
  it.live("\"tiny\": the built-in model, loaded like any directory, in worker threads", () =>
    Effect.scoped(Effect.gen(function*() {
      const model = yield* ModelSource.make({ model: "tiny", intraOpNumThreads: 1 })
      assert.strictEqual(model.info.kind, "onnx")
      assert.strictEqual(model.info.dimension, 32)
      assert.strictEqual(model.info.maxLength, 128)
      assert.isString(model.info.path)
      assert.strictEqual(ModelTesting.workerThreadIds(model)!.length, 1)
      const vectors = yield* model.embedBatch(yield* model.tokenize(["Hello there, world."], { truncate: false }))
      assert.strictEqual(vectors[0]!.length, 32)
    })))

  it.live("a directory path, with worker options", () =>
    Effect.gen(function*() {
      const dir = temp.dir({})
      const loaded = yield* info({ model: dir, workers: 2, intraOpNumThreads: 1 })
      assert.strictEqual(loaded.path, dir)
      assert.strictEqual(loaded.workers, 2)
      const error = yield* Effect.flip(info({ model: Path.join(temp.root, "missing") }))
      assert.instanceOf(error, ModelLoadError)
      assert.match(error.message, /does not exist/)
    }))

  it.live("\"echo\", and \"echo:<name or dir>\" with that tokenizer", () =>
    Effect.gen(function*() {
      const echo = yield* info({ model: "echo" })
      assert.strictEqual(echo.kind, "echo")
      assert.strictEqual(echo.id, "echo")
      const echoTiny = yield* info({ model: "echo:tiny" })
      assert.strictEqual(echoTiny.kind, "echo")
      assert.strictEqual(echoTiny.maxLength, 128)
      assert.strictEqual(echoTiny.dimension, 32)
      const echoDir = yield* info({ model: `echo:${temp.dir({ model: null })}` })
      assert.strictEqual(echoDir.maxLength, 64)
    }))
})
