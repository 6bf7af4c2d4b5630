/**
 * Where an idle single-text request's time goes, in process (no HTTP): timestamps through the path
 * of sequential `Embedder.embed` calls, each after an idle pause, with the server's default
 * configuration on the model under test.
 *
 *   pnpm tsx packages/core/test/model/scripts/idle-breakdown.ts [model=default] [requests=300] [pauseMs=5] [run|always|off]
 *
 * Stages: tokenization and submit -> dispatch (from the call's own timings), dispatch -> the
 * batch's message to the worker (`postMessage`), the worker's run (`runMs` it reports), the two
 * thread hand-offs (message out and result back, together: message-to-result minus the run), and
 * result -> the caller resumed. The hooks wrap `Worker.prototype.postMessage` and `emit` in this
 * process only; nothing in the library is changed.
 */
import { Effect, Layer } from "effect"
import { Worker } from "node:worker_threads"
import * as BatchSizePolicy from "../../../src/batching/BatchSizePolicy.js"
import * as QueuePolicy from "../../../src/batching/QueuePolicy.js"
import * as WaitPolicy from "../../../src/batching/WaitPolicy.js"
import * as Embedder from "../../../src/Embedder.js"
import * as ModelSource from "../../../src/model/ModelSource.js"
import { spinningModes } from "../../../src/model/onnx/spinning.mjs"
import type { Spinning } from "../../../src/model/onnx/WorkerProtocol.js"

const modelName = process.argv[2] === "tiny" ? "tiny" : "default"
const requests = Number(process.argv[3] ?? 300)
const pauseMs = Number(process.argv[4] ?? 5)
const spinning: Spinning = spinningModes.find((mode) => mode === process.argv[5]) ?? "run"
const text = "How do I reset my password if I no longer have access to my email?"

interface Marks {
  post?: number
  result?: number
  runMs?: number | undefined
}
let marks: Marks = {}
const post = Worker.prototype.postMessage
Worker.prototype.postMessage = function(this: Worker, ...args: Parameters<Worker["postMessage"]>) {
  if ((args[0] as { type?: unknown }).type === "run") marks.post = performance.now()
  return post.apply(this, args)
}
const emit = Worker.prototype.emit
Worker.prototype.emit = function(this: Worker, event: string | symbol, ...args: Array<unknown>) {
  const message = args[0] as { type?: unknown; runMs?: number } | undefined
  if (event === "message" && message?.type === "result") {
    marks.result = performance.now()
    marks.runMs = message.runMs
  }
  return emit.call(this, event, ...args)
}

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

const main = Effect.gen(function*() {
  const embedder = yield* Embedder.Embedder
  const rows: Array<Record<string, number>> = []
  for (let i = 0; i < requests + 30; i++) {
    yield* Effect.sleep(pauseMs)
    marks = {}
    const start = performance.now()
    const result = yield* embedder.embed([text])
    const end = performance.now()
    const { post: posted, result: back, runMs } = marks
    if (i < 30 || posted === undefined || back === undefined || runMs === undefined) continue
    const t = result.timings
    const dispatched = start + t.tokenizationMs + t.queueMs
    rows.push({
      "total": end - start,
      "tokenize": t.tokenizationMs,
      "submit -> dispatch": t.queueMs,
      "dispatch -> postMessage": posted - dispatched,
      "worker run (session.run + pooling)": runMs,
      "thread hand-offs (out + back)": back - posted - runMs,
      "result -> caller resumed": end - back
    })
  }
  console.log(`${modelName}, spinning ${spinning}, ${rows.length} requests, ${pauseMs} ms pause before each (ms):`)
  for (const stage of Object.keys(rows[0] ?? {})) {
    const values = rows.map((r) => r[stage]!)
    console.log(
      `  ${stage.padEnd(36)} p50 ${quantile(values, 0.5).toFixed(3)}  p90 ${quantile(values, 0.9).toFixed(3)}  ` +
        `p99 ${quantile(values, 0.99).toFixed(3)}`
    )
  }
})

const EmbedderLive = Embedder.layer().pipe(
  Layer.provide(ModelSource.layer({ model: modelName, spinning })),
  Layer.provide(Layer.mergeAll(
    BatchSizePolicy.adaptive({ maxBatchSize: 32 }),
    WaitPolicy.adaptive({ maxWaitMs: 5 }),
    QueuePolicy.layer({ capacity: 1024, overflow: "reject" })
  ))
)

Effect.runPromise(main.pipe(Effect.provide(EmbedderLive))).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
