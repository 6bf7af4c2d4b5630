// The model ceiling: raw onnxruntime-node `session.run` in a worker thread, nothing else (no
// tokenizer, no batching engine, no copies beyond building the input tensors once per point).
// Plain JavaScript so that it starts on Node 20 from both the TypeScript sources and dist/.
//
// workerData: { modelPath: string, intraOpNumThreads: number, maxTokenId: number }
// in:  { type: "measure", id, batch, seq, minMs, minRuns, warmupRuns, gapMs } | { type: "close" }
// out: { type: "ready", inputNames, outputNames, fetch } | { type: "failed", message }
//      { type: "measured", id, timesMs: number[] } | { type: "error", id, message }
import { performance } from "node:perf_hooks"
import { parentPort, workerData } from "node:worker_threads"
import { InferenceSession, Tensor } from "onnxruntime-node"

const port = parentPort
if (port === null) throw new Error("ortCeiling.mjs must run in a worker thread")

/** @type {{ modelPath: string, intraOpNumThreads: number, maxTokenId: number }} */
const data = workerData

/**
 * @param {number} batch
 * @param {number} seq
 * @param {ReadonlyArray<string>} inputNames
 * @returns {Record<string, Tensor>}
 */
const feedsFor = (batch, seq, inputNames) => {
  const n = batch * seq
  const ids = new BigInt64Array(n)
  const mask = new BigInt64Array(n)
  const types = new BigInt64Array(n)
  const span = Math.max(1, data.maxTokenId - 1000)
  for (let i = 0; i < n; i++) {
    ids[i] = BigInt(data.maxTokenId > 1000 ? 1000 + ((i * 7919) % span) : 1 + (i % Math.max(1, data.maxTokenId - 1)))
    mask[i] = 1n
  }
  /** @type {Record<string, Tensor>} */
  const feeds = {}
  for (const name of inputNames) {
    if (name === "input_ids") feeds[name] = new Tensor("int64", ids, [batch, seq])
    else if (name === "attention_mask") feeds[name] = new Tensor("int64", mask, [batch, seq])
    else if (name === "token_type_ids") feeds[name] = new Tensor("int64", types, [batch, seq])
    else throw new Error(`unsupported model input ${name}`)
  }
  return feeds
}

try {
  const session = await InferenceSession.create(data.modelPath, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: data.intraOpNumThreads,
    interOpNumThreads: 1,
    logSeverityLevel: 3
  })
  const fetch = session.outputNames.includes("sentence_embedding")
    ? ["sentence_embedding"]
    : [...session.outputNames]
  port.on("message", async (/** @type {any} */ msg) => {
    if (msg.type === "close") {
      await session.release()
      port.close()
      return
    }
    if (msg.type !== "measure") return
    try {
      const feeds = feedsFor(msg.batch, msg.seq, session.inputNames)
      for (let i = 0; i < msg.warmupRuns; i++) await session.run(feeds, fetch)
      /** @type {Array<number>} */
      const timesMs = []
      const start = performance.now()
      while (timesMs.length < msg.minRuns || performance.now() - start < msg.minMs) {
        // an idle pause before each run, as a lone request meets the machine
        if (msg.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, msg.gapMs))
        const t0 = performance.now()
        await session.run(feeds, fetch)
        timesMs.push(performance.now() - t0)
      }
      port.postMessage({ type: "measured", id: msg.id, timesMs })
    } catch (e) {
      port.postMessage({ type: "error", id: msg.id, message: e instanceof Error ? e.message : String(e) })
    }
  })
  port.postMessage({ type: "ready", inputNames: session.inputNames, outputNames: session.outputNames, fetch })
} catch (e) {
  port.postMessage({ type: "failed", message: e instanceof Error ? e.message : String(e) })
}
