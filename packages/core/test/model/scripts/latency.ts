/**
 * Idle single-text latency: `EmbeddingModel.embedBatch` (and tokenize + embedBatch) against one raw
 * batch-1 `session.run` in a bare worker (`raw-worker.mjs`), same model, same session options,
 * same process, interleaved so drift hits both alike.
 *
 *   pnpm tsx packages/core/test/model/scripts/latency.ts [model=default] [iterations=300] [run|always|off]
 *
 * Both sessions spin as adabatch's default does (`run`: only while a run lasts) unless told
 * otherwise. With `always`, one session's threads still spin after its run and steal the cores the
 * other one runs on next.
 */
import { Effect, Metric } from "effect"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { englishSentences, ensureBuiltinModel } from "../../../src/model/builtin/index.js"
import type { Encoded } from "../../../src/model/EmbeddingModel.js"
import * as ModelMetrics from "../../../src/model/ModelMetrics.js"
import * as ModelSource from "../../../src/model/ModelSource.js"
import { spinningModes } from "../../../src/model/onnx/spinning.mjs"
import type { Spinning } from "../../../src/model/onnx/WorkerProtocol.js"

const modelName = process.argv[2] === "tiny" ? "tiny" : "default"
const iterations = Number(process.argv[3] ?? 300)
const intraOpNumThreads = availableParallelism()
const spinning: Spinning = spinningModes.find((mode) => mode === process.argv[4]) ?? "run"

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const fmt = (values: ReadonlyArray<number>) =>
  `p50 ${quantile(values, 0.5).toFixed(3)} ms  p10 ${quantile(values, 0.1).toFixed(3)}  p90 ${
    quantile(values, 0.9).toFixed(3)
  }`

const main = Effect.gen(function*() {
  const dir = yield* ensureBuiltinModel(modelName)
  const model = yield* ModelSource.make({ model: dir, workers: 1, intraOpNumThreads, spinning })
  const raw = new Worker(new URL("./raw-worker.mjs", import.meta.url), {
    workerData: { modelPath: `${dir}/model.onnx`, intraOpNumThreads, spinning }
  })
  yield* Effect.callback<void>((resume) => {
    raw.once("message", () => resume(Effect.void))
  })
  const rawRun = (ids: Int32Array) =>
    new Promise<number>((resolve) => {
      const n = ids.length
      const ids64 = BigInt64Array.from(ids, (id) => BigInt(id))
      const mask = new BigInt64Array(n).fill(1n)
      raw.once("message", (reply: { runMs: number }) => resolve(reply.runMs))
      raw.postMessage({ ids: ids64, mask, seq: n }, [ids64.buffer, mask.buffer])
    })

  const corpus = englishSentences.join(" ")
  console.log(
    `model ${model.info.id} (${modelName}), 1 worker, intraOpNumThreads ${intraOpNumThreads}, ` +
      `spinning ${spinning}, ${iterations} iterations`
  )
  for (const target of [16, 128]) {
    // A text of exactly `target` tokens: the corpus cut by truncation.
    const [cut] = yield* model.tokenize([corpus], { truncate: true }).pipe(
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
    const ids = Int32Array.from([...cut!.ids.subarray(0, target - 1), cut!.ids[cut!.ids.length - 1]!])
    const input: Encoded = { ids, truncated: true }
    const words = corpus.split(" ")
    let text = ""
    for (let w = 1; w < words.length; w++) {
      const candidate = words.slice(0, w).join(" ")
      const [encoded] = yield* model.tokenize([candidate], { truncate: true })
      if (encoded!.ids.length > target) break
      text = candidate
      if (encoded!.ids.length === target) break
    }
    const textTokens = (yield* model.tokenize([text], { truncate: false }))[0]!.ids.length
    for (let i = 0; i < 20; i++) {
      yield* model.embedBatch([input])
      yield* Effect.promise(() => rawRun(ids))
    }
    const runsBefore = yield* Metric.value(ModelMetrics.inferenceMsFor(0))
    const viaModel: Array<number> = []
    const viaModelWithTokenize: Array<number> = []
    const rawRoundTrip: Array<number> = []
    const rawSessionRun: Array<number> = []
    for (let i = 0; i < iterations; i++) {
      let start = performance.now()
      yield* model.embedBatch([input])
      viaModel.push(performance.now() - start)
      start = performance.now()
      const runMs = yield* Effect.promise(() => rawRun(ids))
      rawRoundTrip.push(performance.now() - start)
      rawSessionRun.push(runMs)
      start = performance.now()
      yield* Effect.flatMap(model.tokenize([text], { truncate: false }), model.embedBatch)
      viaModelWithTokenize.push(performance.now() - start)
    }
    const runsAfter = yield* Metric.value(ModelMetrics.inferenceMsFor(0))
    // The histogram is exported in seconds.
    const modelRunMean = 1000 * (runsAfter.sum - runsBefore.sum) / (runsAfter.count - runsBefore.count)
    console.log(`\nseq ${target} (text of ${textTokens} tokens for the tokenize row)`)
    console.log(`  raw worker, session.run only (in the worker)  ${fmt(rawSessionRun)}`)
    console.log(`  raw worker, round trip from the main thread    ${fmt(rawRoundTrip)}`)
    console.log(`  EmbeddingModel.embedBatch                       ${fmt(viaModel)}`)
    console.log(`  EmbeddingModel.tokenize + embedBatch            ${fmt(viaModelWithTokenize)}`)
    console.log(`  adabatch worker run time (mean, run + pooling)  ${modelRunMean.toFixed(3)} ms`)
    console.log(
      `  ratio embedBatch / raw round trip (p50)          ${
        (quantile(viaModel, 0.5) / quantile(rawRoundTrip, 0.5)).toFixed(3)
      }; overhead p50 ${(quantile(viaModel, 0.5) - quantile(rawRoundTrip, 0.5)).toFixed(3)} ms`
    )
  }
  yield* Effect.promise(() => raw.terminate())
})

Effect.runPromise(Effect.scoped(main)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
