// @ts-check
/**
 * The baseline for `latency.ts`: the least a worker can do per request — one onnxruntime session,
 * one `session.run` per message, the output posted back as a transferred Float32Array.
 */
import { parentPort, workerData } from "node:worker_threads"
import { InferenceSession, Tensor } from "onnxruntime-node"
import { spinningSettings } from "../../../src/model/onnx/spinning.mjs"

const port = parentPort
if (port === null) throw new Error("raw-worker.mjs must run in a worker thread")

const session = await InferenceSession.create(workerData.modelPath, {
  executionProviders: ["cpu"],
  intraOpNumThreads: workerData.intraOpNumThreads,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  logSeverityLevel: 3,
  extra: { session: spinningSettings(workerData.spinning) }
})
const types = new Map()

port.on("message", async (/** @type {{ ids: BigInt64Array; mask: BigInt64Array; seq: number }} */ msg) => {
  let zeros = types.get(msg.seq)
  if (zeros === undefined) types.set(msg.seq, zeros = new BigInt64Array(msg.seq))
  const start = performance.now()
  const out = await session.run({
    input_ids: new Tensor("int64", msg.ids, [1, msg.seq]),
    attention_mask: new Tensor("int64", msg.mask, [1, msg.seq]),
    token_type_ids: new Tensor("int64", zeros, [1, msg.seq])
  }, ["sentence_embedding"])
  const runMs = performance.now() - start
  const data = /** @type {Float32Array} */ (out["sentence_embedding"]?.data)
  port.postMessage({ data, runMs }, [/** @type {ArrayBuffer} */ (data.buffer)])
})
port.postMessage("ready")
