/**
 * One inference worker thread (`worker.mjs`, one onnxruntime session): its start-up handshake
 * (load the session, agree on the plan, run the probe batch), the messages the pool sends it, the
 * listeners through which it answers, and its orderly close.
 *
 * The pool of these handles (slots, waiting batches, restarts) is `WorkerPool`.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { Worker } from "node:worker_threads"
import { ModelLoadError } from "../ModelError.js"
import type { PackedBatch } from "./InputBuffers.js"
import type { FromWorker, RunFault, ToWorker, WorkerData, WorkerPlan, WorkerSessionOptions } from "./WorkerProtocol.js"

const WORKER_URL = new URL("./worker.mjs", import.meta.url)

/** How long a closing worker may take to release its session before it is terminated. */
const CLOSE_GRACE_MS = 2_000

/**
 * The worker's first message: the session's inputs and outputs.
 *
 * @since 0.1.0
 * @category models
 */
export type Loaded = Extract<FromWorker, { type: "loaded" }>

/**
 * What a worker needs to start.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  /** Absolute path of `model.onnx`. */
  readonly modelFile: string
  readonly sessionOptions: WorkerSessionOptions
  /** Embedding dimension the model must produce, if declared. */
  readonly dimension: number | undefined
}

/**
 * A worker that has loaded its session, accepted the plan and run the probe batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Started {
  readonly worker: Worker
  readonly plan: WorkerPlan
  readonly dimension: number
}

/**
 * Removes this module's listeners. (Never `removeAllListeners()` without an event name: that also
 * drops the `newListener` hooks through which Node keeps a worker's message port referenced.)
 *
 * @since 0.1.0
 * @category internal
 */
export const detach = (worker: Worker): void => {
  worker.removeAllListeners("message")
  worker.removeAllListeners("error")
  worker.removeAllListeners("exit")
}

/** Detaches the worker and swallows its later `error` events (it is being ended). */
const silence = (worker: Worker) => {
  detach(worker)
  worker.on("error", () => {})
}

/**
 * Starts one worker: loads the session, derives (or re-checks) the plan with `planFor`, runs the
 * probe batch. Fails with `ModelLoadError`; the worker is terminated on failure or interruption.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  options: StartOptions,
  index: number,
  planFor: (loaded: Loaded) => Result.Result<WorkerPlan, string>
): Effect.Effect<Started, ModelLoadError> =>
  Effect.callback<Started, ModelLoadError>((resume) => {
    const workerData: WorkerData = { modelPath: options.modelFile, sessionOptions: options.sessionOptions, index }
    const worker = new Worker(WORKER_URL, { workerData })
    let settled = false
    let plan: WorkerPlan | undefined
    const fail = (reason: string, cause?: unknown) => {
      if (settled) return
      settled = true
      silence(worker)
      void worker.terminate().finally(() =>
        resume(Effect.fail(new ModelLoadError({ path: options.modelFile, reason, cause })))
      )
    }
    worker.on("message", (message: FromWorker) => {
      switch (message.type) {
        case "loaded": {
          const resolved = planFor(message)
          if (Result.isFailure(resolved)) return fail(resolved.failure)
          plan = resolved.success
          const init: ToWorker = { type: "init", plan }
          worker.postMessage(init)
          return
        }
        case "load-failed":
          return fail(`onnxruntime cannot load it: ${message.reason}`)
        case "init-failed":
          return fail(message.reason)
        case "ready": {
          if (settled || plan === undefined) return
          if (options.dimension !== undefined && message.dimension !== options.dimension) {
            return fail(
              `the model produces ${message.dimension}-dimensional embeddings, but adabatch.json declares ` +
                `dimension ${options.dimension}`
            )
          }
          settled = true
          detach(worker)
          resume(Effect.succeed({ worker, plan, dimension: message.dimension }))
          return
        }
      }
    })
    worker.on("error", (error) => fail(`the inference worker failed while loading the model: ${error.message}`, error))
    worker.on("exit", (code) => fail(`the inference worker exited with code ${code} while loading the model`))
    return Effect.promise(async () => {
      if (settled) return
      settled = true
      silence(worker)
      await worker.terminate()
    })
  })

/**
 * Asks a worker to release its session and end; terminates it if it has not ended within
 * {@link CLOSE_GRACE_MS}. Resolves when the thread has exited.
 *
 * @since 0.1.0
 * @category destructors
 */
export const close = (worker: Worker): Promise<void> =>
  new Promise((resolve) => {
    silence(worker)
    const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS)
    worker.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    try {
      const message: ToWorker = { type: "close" }
      worker.postMessage(message)
    } catch {
      void worker.terminate()
    }
  })

/**
 * What a started worker reports to its pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listeners {
  /** A batch finished (`result`) or failed (`run-failed`). */
  readonly onRun: (message: Extract<FromWorker, { type: "result" | "run-failed" }>) => void
  readonly onPong: (id: number) => void
  /** An uncaught exception in the worker (an `exit` follows). */
  readonly onError: (message: string) => void
  readonly onExit: (code: number) => void
}

/**
 * Attaches the pool's listeners to a started worker.
 *
 * @since 0.1.0
 * @category internal
 */
export const listen = (worker: Worker, listeners: Listeners): void => {
  worker.on("message", (message: FromWorker) => {
    switch (message.type) {
      case "result":
      case "run-failed":
        return listeners.onRun(message)
      case "pong":
        return listeners.onPong(message.id)
    }
  })
  worker.on("error", (error) => listeners.onError(error.message))
  worker.on("exit", (code) => listeners.onExit(code))
}

/**
 * Sends a packed batch to a worker, transferring its input buffers (they come back with the
 * reply). Throws if the worker cannot take the message.
 *
 * @since 0.1.0
 * @category internal
 */
export const postRun = (
  worker: Worker,
  run: {
    readonly id: number
    readonly packed: PackedBatch
    readonly fault: RunFault | undefined
    readonly tokens: boolean
  }
): void => {
  const { ids, mask, types } = run.packed.set
  const message: ToWorker = {
    type: "run",
    id: run.id,
    batch: run.packed.batch,
    seq: run.packed.seq,
    ids,
    mask,
    types,
    fault: run.fault,
    tokens: run.tokens
  }
  worker.postMessage(message, types === undefined ? [ids, mask] : [ids, mask, types])
}

/**
 * Sends a ping (the worker answers with a pong of the same id).
 *
 * @since 0.1.0
 * @category internal
 */
export const postPing = (worker: Worker, id: number): void => {
  const message: ToWorker = { type: "ping", id }
  worker.postMessage(message)
}

/**
 * Test hook: makes the worker die now (`"exit"`: `process.exit`; `"throw"`: an uncaught exception
 * outside any run).
 *
 * @since 0.1.0
 * @category internal
 */
export const postCrash = (worker: Worker, mode: "exit" | "throw"): void => {
  const message: ToWorker = { type: "crash", mode }
  worker.postMessage(message)
}
