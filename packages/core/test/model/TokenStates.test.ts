/**
 * Token states (`/embed_all`): the token-level output of a real ONNX session, read even when the
 * model also has a pooled output, split per input without the padding.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as EchoModel from "../../src/model/echo/EchoModel.js"
import { Unsupported } from "../../src/model/ModelError.js"
import * as OnnxModel from "../../src/model/onnx/OnnxModel.js"
import * as TokenStates from "../../src/TokenStates.js"
import { makeTempRoot } from "./fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const notNormalized = { "adabatch.json": JSON.stringify({ normalize: false }) }

describe("token states", () => {
  it.live("one vector per token of each input; their mean is the pooled embedding", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = temp.dir({ model: { outputs: ["sentence_embedding", "last_hidden_state"] }, files: notNormalized })
      const model = yield* OnnxModel.make({ dir, intraOpNumThreads: 1 })
      assert.isTrue(model.info.tokenStates)
      const encoded = yield* model.tokenize(["hello", "the quick brown fox jumps"], { truncate: false })
      const states = yield* model.embedTokens!(encoded)
      const pooled = yield* model.embedBatch(encoded)
      for (let i = 0; i < encoded.length; i++) {
        assert.strictEqual(states[i]!.length, encoded[i]!.ids.length) // no padding rows
        for (let d = 0; d < model.info.dimension; d++) {
          const mean = states[i]!.reduce((sum, row) => sum + row[d]!, 0) / states[i]!.length
          assert.approximately(mean, pooled[i]![d]!, 1e-5)
        }
      }
      // the same states when computed alone (padding does not leak in)
      const [alone] = yield* model.embedTokens!([encoded[0]!])
      assert.deepStrictEqual(alone!.map((r) => [...r]), states[0]!.map((r) => [...r]))
      const result = yield* TokenStates.run(model, ["hello", "the dog", "a"], {
        truncate: false,
        maxItems: 2,
        maxCost: 64
      })
      assert.strictEqual(result.states.length, 3)
      assert.strictEqual(result.tokens, result.states.reduce((n, s) => n + s.length, 0))
    })))

  it.live("a model with a pooled output only has none: Unsupported", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = temp.dir({ model: { outputs: ["sentence_embedding"] } })
      const model = yield* OnnxModel.make({ dir, intraOpNumThreads: 1 })
      assert.isFalse(model.info.tokenStates)
      assert.isUndefined(model.embedTokens)
      const echo = yield* EchoModel.make()
      for (const m of [model, echo]) {
        const error = yield* Effect.flip(TokenStates.run(m, ["hello"], { truncate: false, maxItems: 4, maxCost: 64 }))
        assert.instanceOf(error, Unsupported)
      }
    })))

  it("chunks respect the item and padded-token caps", () => {
    const e = (n: number) => ({ ids: new Int32Array(n), truncated: false })
    const runs = TokenStates.chunk([e(2), e(2), e(2), e(10), e(3)], 2, 12)
    assert.deepStrictEqual(runs.map((r) => r.map((x) => x.ids.length)), [[2, 2], [2], [10], [3]])
  })
})
