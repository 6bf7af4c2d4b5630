// @ts-check
/**
 * A tokenization worker: builds the model's tokenizer from the same source as the main thread and
 * tokenizes the texts the pool (`TokenizerPool.ts`) sends it, one job at a time, off the main
 * thread. Each job's texts get the same treatment as on the main thread (`textCut.encodeTexts`),
 * without a budget.
 *
 * Plain JavaScript on purpose: Node 20 cannot start a worker thread from a TypeScript file. The
 * message types live in `TokenizerProtocol.ts`.
 *
 * @since 0.1.0
 */
import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import { encodeTexts } from "./textCut.mjs"
import { fromSource } from "./tokenizerCore.mjs"

/** @typedef {import("./TokenizerProtocol.js").TokenizerWorkerData} TokenizerWorkerData */
/** @typedef {import("./TokenizerProtocol.js").ToTokenizerWorker} ToTokenizerWorker */
/** @typedef {import("./TokenizerProtocol.js").FromTokenizerWorker} FromTokenizerWorker */
/** @typedef {import("./TokenizerProtocol.js").TextOutcome} TextOutcome */
/** @typedef {import("./ModelTokenizer.js").CoreTokenizer} ModelTokenizer */

const port = parentPort
if (port === null) throw new Error("tokenizerWorker.mjs must run in a worker thread")

const data = /** @type {TokenizerWorkerData} */ (workerData)

/**
 * @param {FromTokenizerWorker} message
 * @param {ReadonlyArray<ArrayBuffer>} [transfer]
 */
const post = (message, transfer) => port.postMessage(message, transfer === undefined ? [] : [...transfer])

/**
 * This thread's scheduling priority (nice value). A worker tokenizing a long text for a second
 * competes with the event loop for the cores; at a lower priority it takes what the main thread
 * leaves, so the main thread keeps answering on a busy machine. Linux only (per-thread priorities
 * through `/proc/thread-self`); elsewhere the worker runs at the process's priority.
 */
const NICE = 10

try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), NICE)
} catch {
  // not Linux, or not allowed: the process's priority
}

/** @type {ModelTokenizer | undefined} */
let tokenizer
try {
  tokenizer = fromSource(data.source)
  post({ type: "ready" })
} catch (error) {
  post({ type: "load-failed", reason: error instanceof Error ? error.message : String(error) })
}

port.on("message", (/** @type {ToTokenizerWorker} */ message) => {
  // an uncaught exception: the worker ends before it reads its next message
  if (message.type === "crash") throw new Error("crash requested (test hook)")
  if (tokenizer === undefined) return
  // with no time budget (`left: Infinity`) every text gets an outcome: none is undefined
  const outcomes = encodeTexts(tokenizer, message.texts, message.maxLength, message.truncate, { left: Infinity })
  /** @type {Array<ArrayBuffer>} */
  const transfer = []
  for (const outcome of outcomes) {
    if (outcome?.type === "encoded") transfer.push(/** @type {ArrayBuffer} */ (outcome.ids.buffer))
  }
  post({ type: "encoded", id: message.id, outcomes: /** @type {Array<TextOutcome>} */ (outcomes) }, transfer)
})
