/**
 * The README's library examples, run as written (with the tiny model in place of the default one,
 * to keep the test fast): if the README drifts from the API, this fails.
 */
import { Batcher, BatchSizePolicy, Embedder, ModelSource, QueuePolicy, WaitPolicy } from "@adabatch/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")

describe("README", () => {
  it.live("the Batcher example", () =>
    Effect.gen(function*() {
      class Squares extends Context.Service<Squares, Batcher.Batcher<number, number>>()("app/Squares") {}
      const SquaresLive = Batcher.layer(Squares, {
        run: (batch) => Effect.succeed(batch.map((x) => x * x)),
        workers: 2
      }).pipe(
        Layer.provide(Layer.mergeAll(
          BatchSizePolicy.adaptive({ maxBatchSize: 64, targetLatencyMs: 50 }),
          WaitPolicy.adaptive({ maxWaitMs: 5 }),
          QueuePolicy.layer({ capacity: 1024, overflow: "backpressure" })
        ))
      )
      const program = Effect.gen(function*() {
        const squares = yield* Squares
        return yield* Effect.forEach([1, 2, 3], (x) => squares.submit(x), { concurrency: "unbounded" })
      })
      assert.deepStrictEqual(yield* program.pipe(Effect.provide(SquaresLive)), [1, 4, 9])
      assert.include(readme, "Batcher.layer(Squares, {")
    }))

  it.live("the Embedder example", () =>
    Effect.gen(function*() {
      const EmbedderLive = Embedder.layer({ isolateFailures: true }).pipe(
        Layer.provide(ModelSource.layer({ model: "tiny" })),
        Layer.provide(Layer.mergeAll(
          BatchSizePolicy.adaptive({ maxBatchSize: 32, maxBatchCost: 16384 }),
          WaitPolicy.adaptive({ maxWaitMs: 5 }),
          QueuePolicy.layer({ capacity: 1024, overflow: "reject" })
        ))
      )
      const program = Effect.gen(function*() {
        const embedder = yield* Embedder.Embedder
        const { embeddings, tokens } = yield* embedder.embed(["first text", "second text"], { truncate: true })
        return [embeddings.length, embeddings[0]!.length, tokens]
      })
      const [n, dim, tokens] = yield* program.pipe(Effect.provide(EmbedderLive))
      assert.strictEqual(n, 2)
      assert.strictEqual(dim, 32)
      assert.isAbove(tokens!, 4)
      assert.include(readme, "ModelSource.layer({ model: \"default\" })")
    }), 60_000)
})
