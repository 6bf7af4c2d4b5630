/**
 * What reusing the int64 input buffers saves: the same seeded stream of batches (1-64 inputs of
 * 8-128 tokens) through two models that differ only in `reuseInputBuffers`, in alternating
 * phases (A B A B), measuring per batch: input bytes allocated, buffer allocations, main-thread
 * garbage collections, and main-thread time.
 *
 *   pnpm tsx packages/core/test/model/scripts/buffers.ts [model=tiny] [batches per phase=1000]
 */
import { Effect } from "effect"
import { PerformanceObserver } from "node:perf_hooks"
import type { EmbeddingModel, Encoded } from "../../../src/model/EmbeddingModel.js"
import * as ModelSource from "../../../src/model/ModelSource.js"
import * as ModelTesting from "../../../src/testing/ModelTesting.js"

const modelName = process.argv[2] ?? "tiny"
const perPhase = Number(process.argv[3] ?? 1000)

let gcCount = 0
let gcMs = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcCount++
    gcMs += entry.duration
  }
}).observe({ entryTypes: ["gc"] })

const makeBatches = (count: number, maxLength: number): Array<Array<Encoded>> => {
  let state = 12345
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + next(64) }, () => {
      const length = Math.min(maxLength, 8 + next(121))
      const ids = new Int32Array(length)
      ids[0] = 101
      for (let i = 1; i < length - 1; i++) ids[i] = 1000 + next(20000)
      ids[length - 1] = 102
      return { ids, truncated: false }
    }))
}

interface Totals {
  batches: number
  bytes: number
  allocations: number
  gcCount: number
  gcMs: number
  ms: number
}

const phase = (model: EmbeddingModel["Service"], batches: ReadonlyArray<ReadonlyArray<Encoded>>, totals: Totals) =>
  Effect.gen(function*() {
    const stats0 = ModelTesting.inputBufferStats(model)!
    const gc0 = [gcCount, gcMs]
    const start = performance.now()
    for (const batch of batches) yield* model.embedBatch(batch)
    totals.ms += performance.now() - start
    const stats1 = ModelTesting.inputBufferStats(model)!
    totals.batches += batches.length
    totals.bytes += stats1.allocatedBytes - stats0.allocatedBytes
    totals.allocations += stats1.allocated - stats0.allocated
    totals.gcCount += gcCount - gc0[0]!
    totals.gcMs += gcMs - gc0[1]!
  })

const main = Effect.gen(function*() {
  const reuse = yield* ModelSource.make({ model: modelName, reuseInputBuffers: true, spinning: "off" })
  const fresh = yield* ModelSource.make({ model: modelName, reuseInputBuffers: false, spinning: "off" })
  const batches = makeBatches(perPhase, Math.min(128, reuse.info.maxLength))
  const tokens = batches.reduce((sum, batch) => sum + batch.reduce((s, input) => s + input.ids.length, 0), 0)
  console.log(
    `model ${reuse.info.id}, ${perPhase} batches per phase, mean batch ${
      (batches.reduce((s, b) => s + b.length, 0) / perPhase).toFixed(1)
    } inputs, ${(tokens / perPhase).toFixed(0)} tokens`
  )
  // Warm up both (and fill the reuse pool).
  yield* phase(reuse, batches.slice(0, 50), { batches: 0, bytes: 0, allocations: 0, gcCount: 0, gcMs: 0, ms: 0 })
  yield* phase(fresh, batches.slice(0, 50), { batches: 0, bytes: 0, allocations: 0, gcCount: 0, gcMs: 0, ms: 0 })
  const on: Totals = { batches: 0, bytes: 0, allocations: 0, gcCount: 0, gcMs: 0, ms: 0 }
  const off: Totals = { batches: 0, bytes: 0, allocations: 0, gcCount: 0, gcMs: 0, ms: 0 }
  for (let round = 0; round < 2; round++) {
    yield* phase(reuse, batches, on)
    yield* phase(fresh, batches, off)
  }
  const row = (name: string, t: Totals) =>
    console.log(
      `${name}: ${(t.bytes / t.batches).toFixed(0)} input bytes allocated per batch, ` +
        `${(t.allocations / t.batches).toFixed(3)} buffer-set allocations per batch, ` +
        `${(t.gcCount / t.batches * 1000).toFixed(1)} main-thread GCs per 1000 batches (${
          (t.gcMs / t.batches * 1000).toFixed(1)
        } ms), ${(t.ms / t.batches).toFixed(3)} ms per batch`
    )
  row("reuse on ", on)
  row("reuse off", off)
  console.log(
    `saving: ${(100 * (1 - on.bytes / Math.max(1, off.bytes))).toFixed(2)} % of input bytes, ` +
      `${(off.bytes - on.bytes) / on.batches} bytes per batch`
  )
  const stats = ModelTesting.inputBufferStats(reuse)!
  console.log(`reuse pool after the run: ${JSON.stringify(stats)}`)
})

Effect.runPromise(Effect.scoped(main)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
