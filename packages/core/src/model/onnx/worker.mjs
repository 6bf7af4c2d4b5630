// @ts-check
/**
 * An inference worker: owns one onnxruntime `InferenceSession` and runs the batches the pool sends
 * it, off the main thread (`session.run` blocks the event loop of the thread that calls it).
 *
 * Plain JavaScript on purpose: Node 20 cannot start a worker thread from a TypeScript file. The
 * message types live in `WorkerProtocol.ts`.
 *
 * @since 0.1.0
 */
import { endianness } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import { InferenceSession, Tensor } from "onnxruntime-node"
import { spinningSettings } from "./spinning.mjs"

/** @typedef {import("./WorkerProtocol.js").WorkerData} WorkerData */
/** @typedef {import("./WorkerProtocol.js").WorkerPlan} WorkerPlan */
/** @typedef {import("./WorkerProtocol.js").ToWorker} ToWorker */
/** @typedef {import("./WorkerProtocol.js").FromWorker} FromWorker */
/** @typedef {import("./WorkerProtocol.js").ValueInfo} ValueInfo */
/** @typedef {Extract<ToWorker, { type: "run" }>} RunMessage */

const port = parentPort
if (port === null) throw new Error("worker.mjs must run in a worker thread")

const littleEndian = endianness() === "LE"

/**
 * @param {FromWorker} message
 * @param {ReadonlyArray<ArrayBuffer>} [transfer]
 */
const post = (message, transfer) => port.postMessage(message, transfer === undefined ? [] : [...transfer])

/** @param {unknown} error */
const describe = (error) => (error instanceof Error ? error.message : String(error))

/**
 * @param {InferenceSession.ValueMetadata} meta
 * @returns {ValueInfo}
 */
const valueInfo = (meta) =>
  meta.isTensor
    ? { name: meta.name, isTensor: true, type: meta.type, shape: [...meta.shape] }
    : { name: meta.name, isTensor: false, type: undefined, shape: [] }

/**
 * Reads mask value `k` (0 or 1) of an int64 buffer without creating a BigInt on little-endian
 * machines.
 *
 * @param {BigInt64Array} mask
 * @param {Int32Array | undefined} maskLow
 * @param {number} k
 */
const maskAt = (mask, maskLow, k) => (maskLow === undefined ? Number(mask[k]) : maskLow[2 * k])

/**
 * Pools `[batch, seq, dim]` token states into `[batch, dim]` (mean over the attention mask, or the
 * first token). Sums run in float64 and skip masked positions, so a row's result does not depend
 * on how much padding its batch has.
 *
 * @param {Float32Array} hidden
 * @param {number} batch
 * @param {number} seq
 * @param {number} dim
 * @param {BigInt64Array} mask
 * @param {"mean" | "cls"} pooling
 */
const pool = (hidden, batch, seq, dim, mask, pooling) => {
  const out = new Float32Array(batch * dim)
  if (pooling === "cls") {
    for (let b = 0; b < batch; b++) out.set(hidden.subarray(b * seq * dim, b * seq * dim + dim), b * dim)
    return out
  }
  const maskLow = littleEndian ? new Int32Array(mask.buffer, mask.byteOffset, mask.length * 2) : undefined
  const acc = new Float64Array(dim)
  for (let b = 0; b < batch; b++) {
    acc.fill(0)
    let count = 0
    for (let t = 0; t < seq; t++) {
      if (maskAt(mask, maskLow, b * seq + t) === 0) continue
      count++
      const base = (b * seq + t) * dim
      for (let d = 0; d < dim; d++) acc[d] = /** @type {number} */ (acc[d]) + /** @type {number} */ (hidden[base + d])
    }
    if (count === 0) continue
    for (let d = 0; d < dim; d++) out[b * dim + d] = /** @type {number} */ (acc[d]) / count
  }
  return out
}

/**
 * L2-normalises each row in place (rows of zeros stay zeros).
 *
 * @param {Float32Array} data
 * @param {number} batch
 * @param {number} dim
 */
const normalizeRows = (data, batch, dim) => {
  for (let b = 0; b < batch; b++) {
    let sum = 0
    for (let d = b * dim; d < (b + 1) * dim; d++) sum += /** @type {number} */ (data[d]) ** 2
    if (sum === 0) continue
    const inv = 1 / Math.sqrt(sum)
    for (let d = b * dim; d < (b + 1) * dim; d++) data[d] = /** @type {number} */ (data[d]) * inv
  }
}

/**
 * Runs one batch and returns `[batch, dim]` embeddings.
 *
 * @param {InferenceSession} session
 * @param {WorkerPlan} plan
 * @param {number} batch
 * @param {number} seq
 * @param {BigInt64Array} ids
 * @param {BigInt64Array} mask
 * @param {BigInt64Array | undefined} types
 * @returns {Promise<{ output: Float32Array; dimension: number }>}
 */
const infer = async (session, plan, batch, seq, ids, mask, types) => {
  /** @type {Record<string, Tensor>} */
  const feeds = {
    [plan.inputIds]: new Tensor("int64", ids, [batch, seq]),
    [plan.attentionMask]: new Tensor("int64", mask, [batch, seq])
  }
  if (plan.tokenTypeIds !== undefined) {
    feeds[plan.tokenTypeIds] = new Tensor("int64", types ?? new BigInt64Array(batch * seq), [batch, seq])
  }
  const results = await session.run(feeds, [plan.output])
  const value = results[plan.output]
  if (value === undefined) throw new Error(`the session returned no ${plan.output} output`)
  if (value.type !== "float32") throw new Error(`output ${plan.output} has type ${value.type}, expected float32`)
  const data = /** @type {Float32Array} */ (value.data)
  const dims = value.dims
  let output
  let dimension
  if (plan.outputKind === "pooled") {
    if (dims.length !== 2 || dims[0] !== batch) {
      throw new Error(`output ${plan.output} has shape [${dims.join(", ")}], expected [${batch}, dim]`)
    }
    dimension = /** @type {number} */ (dims[1])
    // Own the whole buffer so it can be transferred; copy only if the tensor is a view.
    output = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()
  } else {
    if (dims.length !== 3 || dims[0] !== batch || dims[1] !== seq) {
      throw new Error(`output ${plan.output} has shape [${dims.join(", ")}], expected [${batch}, ${seq}, dim]`)
    }
    dimension = /** @type {number} */ (dims[2])
    output = pool(data, batch, seq, dimension, mask, plan.pooling)
  }
  if (plan.normalize) normalizeRows(output, batch, dimension)
  return { output, dimension }
}

/**
 * Runs one batch and returns its token states `[batch, seq, dim]`, as the model computes them (no
 * pooling, no normalisation).
 *
 * @param {InferenceSession} session
 * @param {WorkerPlan} plan
 * @param {number} batch
 * @param {number} seq
 * @param {BigInt64Array} ids
 * @param {BigInt64Array} mask
 * @param {BigInt64Array | undefined} types
 * @returns {Promise<{ output: Float32Array; dimension: number }>}
 */
const inferTokens = async (session, plan, batch, seq, ids, mask, types) => {
  const name = plan.tokenOutput
  if (name === undefined) throw new Error("the model has no token-level output")
  /** @type {Record<string, Tensor>} */
  const feeds = {
    [plan.inputIds]: new Tensor("int64", ids, [batch, seq]),
    [plan.attentionMask]: new Tensor("int64", mask, [batch, seq])
  }
  if (plan.tokenTypeIds !== undefined) {
    feeds[plan.tokenTypeIds] = new Tensor("int64", types ?? new BigInt64Array(batch * seq), [batch, seq])
  }
  const value = (await session.run(feeds, [name]))[name]
  if (value === undefined || value.type !== "float32") throw new Error(`the session returned no float32 ${name}`)
  const dims = value.dims
  if (dims.length !== 3 || dims[0] !== batch || dims[1] !== seq) {
    throw new Error(`output ${name} has shape [${dims.join(", ")}], expected [${batch}, ${seq}, dim]`)
  }
  const data = /** @type {Float32Array} */ (value.data)
  const output = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()
  return { output, dimension: /** @type {number} */ (dims[2]) }
}

/** @type {WorkerData} */
const data = workerData

/** @param {InferenceSession} session */
const serve = (session) => {
  /** @type {WorkerPlan | undefined} */
  let plan

  /** @param {WorkerPlan} next */
  const init = async (next) => {
    const n = next.probeIds.length
    const ids = BigInt64Array.from(next.probeIds, (id) => BigInt(id))
    const mask = new BigInt64Array(n).fill(1n)
    try {
      const { dimension } = await infer(session, next, 1, n, ids, mask, undefined)
      plan = next
      post({ type: "ready", dimension })
    } catch (error) {
      post({
        type: "init-failed",
        reason: `a probe batch of token ids [${next.probeIds.join(", ")}] failed: ${describe(error)}`
      })
    }
  }

  /** @param {RunMessage} msg */
  const run = async (msg) => {
    const transfer = msg.types === undefined ? [msg.ids, msg.mask] : [msg.ids, msg.mask, msg.types]
    const n = msg.batch * msg.seq
    try {
      if (plan === undefined) throw new Error("the worker received a batch before its plan")
      if (msg.fault === "crash") process.exit(70)
      if (msg.fault === "fail") throw new Error("injected failure (poison input)")
      if (msg.fault === "hang") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
      const start = performance.now()
      const { dimension, output } = await (msg.tokens ? inferTokens : infer)(
        session,
        plan,
        msg.batch,
        msg.seq,
        new BigInt64Array(msg.ids, 0, n),
        new BigInt64Array(msg.mask, 0, n),
        msg.types === undefined ? undefined : new BigInt64Array(msg.types, 0, n)
      )
      const runMs = performance.now() - start
      post(
        { type: "result", id: msg.id, output, dimension, runMs, ids: msg.ids, mask: msg.mask, types: msg.types },
        [...transfer, /** @type {ArrayBuffer} */ (output.buffer)]
      )
    } catch (error) {
      post(
        { type: "run-failed", id: msg.id, reason: describe(error), ids: msg.ids, mask: msg.mask, types: msg.types },
        transfer
      )
    }
  }

  /** The batch being computed: closing waits for it (releasing the session under a run aborts). */
  let running = Promise.resolve()

  port.on("message", (/** @type {ToWorker} */ msg) => {
    switch (msg.type) {
      case "init":
        void init(msg.plan)
        return
      case "run":
        running = run(msg)
        return
      case "ping":
        post({ type: "pong", id: msg.id })
        return
      case "crash":
        if (msg.mode === "exit") process.exit(71)
        setImmediate(() => {
          throw new Error("injected crash: an uncaught exception outside a run")
        })
        return
      case "close":
        void running.then(() => session.release()).finally(() => port.close())
        return
    }
  })

  post({
    type: "loaded",
    inputs: session.inputMetadata.map(valueInfo),
    outputs: session.outputMetadata.map(valueInfo)
  })
}

try {
  serve(
    await InferenceSession.create(data.modelPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: data.sessionOptions.intraOpNumThreads,
      interOpNumThreads: data.sessionOptions.interOpNumThreads,
      graphOptimizationLevel: data.sessionOptions.graphOptimizationLevel,
      executionMode: data.sessionOptions.executionMode,
      logSeverityLevel: 3,
      extra: { session: spinningSettings(data.sessionOptions.spinning) }
    })
  )
} catch (error) {
  // No message listener is registered, so the thread ends on its own once this is delivered.
  post({ type: "load-failed", reason: describe(error) })
}
