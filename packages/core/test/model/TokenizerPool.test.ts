/**
 * Tokenization worker threads: the texts too long for the calling fiber get the same ids there,
 * refusals keep their index, a crashed worker fails only its job (typed) and is replaced, and the
 * pool ends with its scope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Metric, Result, Scope } from "effect"
import { InputTooLong, TokenizerWorkerFailed } from "../../src/model/ModelError.js"
import * as ModelMetrics from "../../src/model/ModelMetrics.js"
import * as ModelTokenizer from "../../src/model/tokenizer/ModelTokenizer.js"
import * as TokenizerPool from "../../src/model/tokenizer/TokenizerPool.js"
import { tokenizerJson } from "./fixtures.js"

const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(tokenizerJson(), {}, "tokenizer.json"))
const MAX = 32

/** No safe cut: words split by no-break spaces (whitespace only once normalised). */
const uncuttable = (words: number) =>
  Array.from({ length: words }, (_, i) => (i % 2 === 0 ? "hello" : "é")).join("\u00a0")

const workerTexts = Effect.map(Metric.value(ModelMetrics.tokenizerWorkerTexts), (state) => state.count)

const pool = (workers = 1) => TokenizerPool.make({ source: tokenizer.source, workers, path: "t" })

const ids = (encoded: ReadonlyArray<{ readonly ids: Int32Array }>) => encoded.map((e) => Array.from(e.ids))

describe("TokenizerPool", () => {
  it.effect("long texts no cut decides are tokenized in a worker, with the ids of the calling fiber's", () =>
    Effect.gen(function*() {
      const workers = yield* pool()
      const texts = ["a short one", uncuttable(5_000), "x".repeat(20_000), "!".repeat(1_000_000), uncuttable(9)]
      for (const truncate of [true, false]) {
        const before = yield* workerTexts
        const inline = yield* Effect.result(ModelTokenizer.tokenize(tokenizer, MAX, texts, { truncate }))
        const pooled = yield* Effect.result(ModelTokenizer.tokenize(tokenizer, MAX, texts, { truncate }, workers))
        if (truncate) {
          assert.deepStrictEqual(ids(Result.getOrThrow(pooled)), ids(Result.getOrThrow(inline)))
          // the second and third texts went to the worker (the others: short, or cut at 66 characters)
          assert.strictEqual((yield* workerTexts) - before, 2)
        } else {
          // the first refusal, by index, whichever thread found it
          assert.isTrue(Result.isFailure(pooled))
          const error = (pooled as Result.Failure<never, InputTooLong>).failure
          assert.instanceOf(error, InputTooLong)
          assert.strictEqual(error.index, 1)
          assert.deepStrictEqual(pooled, inline)
        }
      }
    }))

  it.effect("a short call stays on the calling fiber", () =>
    Effect.gen(function*() {
      const workers = yield* pool()
      const before = yield* workerTexts
      const texts = Array.from({ length: 32 }, (_, i) => `text number ${i} of a batch`)
      const encoded = yield* ModelTokenizer.tokenize(tokenizer, MAX, texts, { truncate: false }, workers)
      assert.strictEqual(encoded.length, 32)
      assert.strictEqual((yield* workerTexts) - before, 0)
    }))

  it.effect("a call over the budget sends only its left-over texts", () =>
    Effect.gen(function*() {
      const workers = yield* pool()
      const before = yield* workerTexts
      // 6 texts of 2,000 characters: four fit the 8,192-character budget, two go to the worker
      const texts = Array.from({ length: 6 }, () => uncuttable(1_000).slice(0, 2_000))
      const pooled = yield* ModelTokenizer.tokenize(tokenizer, 4_096, texts, { truncate: false }, workers)
      assert.deepStrictEqual(
        ids(pooled),
        ids(yield* ModelTokenizer.tokenize(tokenizer, 4_096, texts, { truncate: false }))
      )
      assert.strictEqual((yield* workerTexts) - before, 2)
    }))

  it.live("a worker that crashes fails only its job, with TokenizerWorkerFailed, and is replaced", () =>
    Effect.gen(function*() {
      const workers = yield* pool(2)
      const first = workers.threadIds()
      yield* workers.crash(0)
      const failed = yield* Effect.flip(workers.encode([uncuttable(5_000)], MAX, true))
      assert.instanceOf(failed, TokenizerWorkerFailed)
      assert.strictEqual(failed.worker, 0)
      assert.match(failed.message, /^tokenization failed on tokenizer worker 0: tokenizer worker 0 crashed/)
      // the other worker, and then the replacement, keep answering
      for (let i = 0; i < 4; i++) {
        const [outcome] = yield* workers.encode([uncuttable(5_000)], MAX, true)
        assert.strictEqual(outcome?.type, "encoded")
      }
      while (workers.threadIds()[0] === undefined) yield* Effect.sleep(10)
      assert.notStrictEqual(workers.threadIds()[0], first[0])
      assert.strictEqual(workers.threadIds()[1], first[1])
    }))

  it.effect("closing the scope ends the workers; a job after that fails", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const workers = yield* Scope.provide(pool(2), scope)
      assert.strictEqual(workers.threadIds().filter((id) => id !== undefined).length, 2)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(workers.threadIds(), [undefined, undefined])
      const error = yield* Effect.flip(workers.encode(["a"], MAX, true))
      assert.instanceOf(error, TokenizerWorkerFailed)
      assert.match(error.message, /shut down/)
    }))

  it.effect("a tokenizer a worker cannot build fails the pool at start-up", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        TokenizerPool.make({
          source: { kind: "huggingface", json: { ...tokenizerJson(), model: { type: "Nope" } }, config: {} },
          workers: 1,
          path: "/m/tokenizer.json"
        })
      )
      assert.strictEqual(error._tag, "ModelLoadError")
      assert.strictEqual(error.path, "/m/tokenizer.json")
      assert.match(error.reason, /a tokenization worker cannot build it/)
    }))
})
