/**
 * A pool of inference workers (`worker_threads`, one onnxruntime session each), scoped: built
 * workers are closed (session released, thread ended) when the scope closes.
 *
 * Scheduling: each batch goes to an idle worker; when all are busy, batches wait in FIFO order, so
 * at most `workers` batches run at once. A worker that dies (exits, throws outside a run, or
 * exceeds the run timeout) fails only the batch it was running, with `InferenceFailed`, and is
 * replaced in the background (`adabatch_model_worker_restarts_total`). If a replacement cannot
 * start and no worker is left, waiting batches fail instead of hanging, and restarts are retried
 * with backoff.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, FiberSet, Metric, Result, type Scope } from "effect"
import { Worker } from "node:worker_threads"
import type { Encoded } from "../EmbeddingModel.js"
import * as InputBuffers from "./InputBuffers.js"
import { InferenceFailed, ModelLoadError } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import type {
  FromWorker,
  RunFault,
  ToWorker,
  ValueInfo,
  WorkerData,
  WorkerPlan,
  WorkerSessionOptions
} from "./WorkerProtocol.js"

const WORKER_URL = new URL("./worker.mjs", import.meta.url)

/** How long a closing worker may take to release its session before it is terminated. */
const CLOSE_GRACE_MS = 2_000
/** Backoff between failed restarts of a worker. */
const RESTART_BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000]

/**
 * Fault injection for reliability tests: any batch that contains `poisonTokenId` (in any input)
 * fails with `InferenceFailed` (`action: "fail"`, the worker survives), crashes the worker
 * running it (`action: "crash"`, the worker is replaced), or blocks it forever (`action: "hang"`:
 * the batch fails when `runTimeout` expires and the worker is replaced; without a run timeout it
 * stays stuck until the pool closes). Find the id of a word with `EmbeddingModel.tokenize`.
 *
 * @since 0.1.0
 * @category models
 */
export interface FaultInjection {
  readonly poisonTokenId: number
  readonly action: RunFault
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerPoolOptions {
  /** Absolute path of `model.onnx`. */
  readonly modelFile: string
  readonly workers: number
  readonly sessionOptions: WorkerSessionOptions
  readonly pooling: "mean" | "cls"
  readonly normalize: boolean
  readonly padId: number
  readonly probeIds: ReadonlyArray<number>
  /** Embedding dimension the model must produce, if declared. */
  readonly dimension: number | undefined
  /** Reuse int64 input buffers across batches. */
  readonly reuseInputBuffers: boolean
  /** A batch running longer than this fails and its worker is replaced. */
  readonly runTimeoutMs: number | undefined
  readonly faults: FaultInjection | undefined
}

/**
 * The result of one batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchOutput {
  /** `batch * dimension` floats, row-major, in input order (token states: `batch * seq * dimension`). */
  readonly output: Float32Array
  readonly dimension: number
  /** The padded sequence length of the batch. */
  readonly seq: number
  /** Slot index of the worker that ran it. */
  readonly worker: number
  /** Time in `session.run` plus pooling, measured in the worker. */
  readonly runMs: number
  /** Real tokens, and the padded tensor's size (`batch * longest`). */
  readonly tokens: number
  readonly slots: number
  /** Input buffer bytes allocated for this batch (0 when reused). */
  readonly allocatedBytes: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WorkerPool {
  readonly plan: WorkerPlan
  readonly dimension: number
  readonly workers: number
  /**
   * Runs a non-empty batch on the next free worker: its embeddings, or with `tokens` its token
   * states (`plan.tokenOutput` must exist).
   */
  readonly run: (batch: ReadonlyArray<Encoded>, tokens?: boolean) => Effect.Effect<BatchOutput, InferenceFailed>
  /** Succeeds when a live worker answers a ping. */
  readonly ping: Effect.Effect<void, InferenceFailed>
  /**
   * Test hook: makes worker `worker` die. `"exit"` calls `process.exit` in it now, `"throw"`
   * raises an uncaught exception outside any run, `"next-run"` exits when its next batch arrives
   * (that batch fails).
   */
  readonly crash: (worker: number, mode: "exit" | "throw" | "next-run") => Effect.Effect<void>
  /** Thread ids of the live workers, by slot (`undefined` while a slot has no worker). */
  readonly threadIds: () => ReadonlyArray<number | undefined>
  /** Workers restarted so far. */
  readonly restarts: () => number
  readonly bufferStats: () => InputBuffers.InputBufferStats
}

const INPUT_IDS = "input_ids"
const ATTENTION_MASK = "attention_mask"
const TOKEN_TYPE_IDS = "token_type_ids"
const POOLED_OUTPUTS = ["sentence_embedding"]
const TOKEN_OUTPUTS = ["last_hidden_state", "token_embeddings"]

/**
 * Removes this module's listeners. (Never `removeAllListeners()` without an event name: that also
 * drops the `newListener` hooks through which Node keeps a worker's message port referenced.)
 */
const detach = (worker: Worker) => {
  worker.removeAllListeners("message")
  worker.removeAllListeners("error")
  worker.removeAllListeners("exit")
}

const shapeText = (shape: ReadonlyArray<number | string>) => `[${shape.join(", ")}]`

/**
 * Decides what to feed and read from a session's inputs and outputs, or says why the model is
 * not usable.
 *
 * @since 0.1.0
 * @category models
 */
export const resolvePlan = (
  session: { readonly inputs: ReadonlyArray<ValueInfo>; readonly outputs: ReadonlyArray<ValueInfo> },
  settings: {
    readonly pooling: "mean" | "cls"
    readonly normalize: boolean
    readonly probeIds: ReadonlyArray<number>
  }
): Result.Result<WorkerPlan, string> => {
  const provided = [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS]
  for (const input of session.inputs) {
    if (!provided.includes(input.name)) {
      return Result.fail(
        `the model requires an input "${input.name}" that adabatch cannot provide ` +
          `(it feeds ${INPUT_IDS}, ${ATTENTION_MASK} and, if present, ${TOKEN_TYPE_IDS})`
      )
    }
    if (!input.isTensor || input.type !== "int64") {
      return Result.fail(`input "${input.name}" has type ${input.type ?? "non-tensor"}; adabatch feeds int64 tensors`)
    }
    if (input.shape.length !== 0 && input.shape.length !== 2) {
      return Result.fail(`input "${input.name}" has shape ${shapeText(input.shape)}; expected [batch, sequence]`)
    }
  }
  const names = session.inputs.map((input) => input.name)
  if (!names.includes(INPUT_IDS)) return Result.fail(`the model has no "${INPUT_IDS}" input`)
  if (!names.includes(ATTENTION_MASK)) {
    return Result.fail(
      `the model has no "${ATTENTION_MASK}" input; adabatch pads batches and needs the model to mask the padding`
    )
  }
  const pooled = session.outputs.find((output) => POOLED_OUTPUTS.includes(output.name))
  const tokens = session.outputs.find((output) => TOKEN_OUTPUTS.includes(output.name))
  const output = pooled ?? tokens
  if (output === undefined) {
    return Result.fail(
      `the model has none of the outputs ${[...POOLED_OUTPUTS, ...TOKEN_OUTPUTS].join(", ")} ` +
        `(it has: ${session.outputs.map((o) => o.name).join(", ") || "none"})`
    )
  }
  if (!output.isTensor || output.type !== "float32") {
    return Result.fail(`output "${output.name}" has type ${output.type ?? "non-tensor"}; expected float32`)
  }
  const rank = output === pooled ? 2 : 3
  if (output.shape.length !== 0 && output.shape.length !== rank) {
    return Result.fail(
      `output "${output.name}" has shape ${shapeText(output.shape)}; expected ` +
        (rank === 2 ? "[batch, dimension]" : "[batch, sequence, dimension]")
    )
  }
  return Result.succeed({
    inputIds: INPUT_IDS,
    attentionMask: ATTENTION_MASK,
    tokenTypeIds: names.includes(TOKEN_TYPE_IDS) ? TOKEN_TYPE_IDS : undefined,
    output: output.name,
    outputKind: output === pooled ? "pooled" : "tokens",
    tokenOutput: tokens !== undefined && tokens.isTensor && tokens.type === "float32" &&
        (tokens.shape.length === 0 || tokens.shape.length === 3)
      ? tokens.name
      : undefined,
    pooling: settings.pooling,
    normalize: settings.normalize,
    probeIds: settings.probeIds
  })
}

type Loaded = Extract<FromWorker, { type: "loaded" }>

interface Started {
  readonly worker: Worker
  readonly plan: WorkerPlan
  readonly dimension: number
}

interface Job {
  readonly id: number
  readonly batch: ReadonlyArray<Encoded>
  readonly deferred: Deferred.Deferred<BatchOutput, InferenceFailed>
  readonly tokens: boolean
  cancelled: boolean
  packed: InputBuffers.PackedBatch | undefined
}

interface Slot {
  readonly index: number
  state: "starting" | "idle" | "busy" | "dead"
  worker: Worker | undefined
  threadId: number | undefined
  job: Job | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  crashNextRun: boolean
  /** Message of the last `error` event of the current worker. */
  lastError: string | undefined
}

interface Ping {
  readonly slot: number
  readonly deferred: Deferred.Deferred<void, InferenceFailed>
}

/** A FIFO of jobs with O(1) push and shift. */
const makeFifo = () => {
  let items: Array<Job> = []
  let head = 0
  return {
    push: (job: Job) => void items.push(job),
    shift: (): Job | undefined => {
      if (head >= items.length) return undefined
      const job = items[head]
      items[head++] = undefined as unknown as Job
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head)
        head = 0
      }
      return job
    },
    size: () => items.length - head
  }
}

/**
 * Starts one worker: loads the session, derives (or re-checks) the plan, runs the probe batch.
 * Fails with `ModelLoadError`; the worker is terminated on failure or interruption.
 */
const startWorker = (
  options: WorkerPoolOptions,
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
      detach(worker)
      worker.on("error", () => {})
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
      detach(worker)
      worker.on("error", () => {})
      await worker.terminate()
    })
  })

/**
 * Starts `options.workers` workers and returns the pool; fails with `ModelLoadError` if the model
 * cannot be loaded. Closing the scope fails queued batches, releases the sessions and waits for
 * every worker thread to end.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: WorkerPoolOptions): Effect.Effect<WorkerPool, ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const slots: Array<Slot> = Array.from({ length: options.workers }, (_, index) => ({
      index,
      state: "starting",
      worker: undefined,
      threadId: undefined,
      job: undefined,
      timer: undefined,
      crashNextRun: false,
      lastError: undefined
    }))
    const queue = makeFifo()
    const pings = new Map<number, Ping>()
    const retiring = new Set<Promise<unknown>>()
    let closing = false
    let restarts = 0
    let nextJobId = 0
    let nextPingId = 0
    /** Why the last restart failed, while no worker could be started. */
    let spawnFailure: string | undefined

    const closeWorker = (worker: Worker): Promise<void> =>
      new Promise((resolve) => {
        detach(worker)
        worker.on("error", () => {})
        const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS)
        worker.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        try {
          const close: ToWorker = { type: "close" }
          worker.postMessage(close)
        } catch {
          void worker.terminate()
        }
      })

    // Registered before any worker starts, so a failed start-up closes the workers already built.
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => {
        closing = true
        const shutDown = (worker?: number) =>
          Exit.fail(
            new InferenceFailed({ reason: "the model was shut down", ...(worker === undefined ? {} : { worker }) })
          )
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          Deferred.doneUnsafe(job.deferred, shutDown())
        }
        for (const ping of pings.values()) {
          Deferred.doneUnsafe(ping.deferred, shutDown(ping.slot))
        }
        pings.clear()
        const ended: Array<Promise<unknown>> = [...retiring]
        for (const slot of slots) {
          clearTimeout(slot.timer)
          const worker = slot.worker
          if (slot.job !== undefined) Deferred.doneUnsafe(slot.job.deferred, shutDown(slot.index))
          // A busy worker (its batch has just failed) is closed like an idle one: it ends once its
          // run returns. Terminating it during a native run aborts the whole process when the run
          // returns into a terminated thread (onnxruntime-node throws a Napi::Error there).
          if (worker !== undefined) ended.push(closeWorker(worker))
          slot.job = undefined
          slot.worker = undefined
          slot.threadId = undefined
          slot.state = "dead"
        }
        return Promise.all(ended)
      })
    )
    // Created after the finalizer above, so restarts in progress are interrupted before it runs.
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()

    // The first worker decides the plan (it is attached to its slot below, with no yield between).
    const settings = { pooling: options.pooling, normalize: options.normalize, probeIds: options.probeIds }
    const first = yield* startWorker(options, 0, (loaded) => resolvePlan(loaded, settings))
    const plan = first.plan
    const dimension = first.dimension
    const bufferPool = InputBuffers.makePool({
      reuse: options.reuseInputBuffers,
      withTypes: plan.tokenTypeIds !== undefined,
      maxPerClass: options.workers + 1
    })

    const failJob = (job: Job, reason: string, worker?: number) =>
      Deferred.doneUnsafe(
        job.deferred,
        Exit.fail(new InferenceFailed({ reason, ...(worker === undefined ? {} : { worker }) }))
      )

    const failQueued = (reason: string) => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        if (!job.cancelled) failJob(job, reason)
      }
    }

    const allDead = () => slots.every((slot) => slot.state === "dead")

    const dispatch = (slot: Slot, job: Job) => {
      const worker = slot.worker!
      const packed = InputBuffers.pack(bufferPool, job.batch, options.padId)
      job.packed = packed
      let fault: RunFault | undefined
      if (slot.crashNextRun) {
        slot.crashNextRun = false
        fault = "crash"
      } else if (
        options.faults !== undefined && InputBuffers.containsToken(job.batch, options.faults.poisonTokenId)
      ) {
        fault = options.faults.action
      }
      slot.state = "busy"
      slot.job = job
      const { ids, mask, types } = packed.set
      const message: ToWorker = {
        type: "run",
        id: job.id,
        batch: packed.batch,
        seq: packed.seq,
        ids,
        mask,
        types,
        fault,
        tokens: job.tokens
      }
      try {
        worker.postMessage(message, types === undefined ? [ids, mask] : [ids, mask, types])
      } catch (cause) {
        slot.state = "idle"
        slot.job = undefined
        failJob(job, `cannot send the batch to worker ${slot.index}: ${String(cause)}`, slot.index)
        return
      }
      if (options.runTimeoutMs !== undefined) {
        const timeoutMs = options.runTimeoutMs
        slot.timer = setTimeout(() => {
          if (slot.job !== job || slot.worker !== worker) return
          lose(slot, `did not finish the batch within ${timeoutMs} ms and was terminated`)
          const terminated = worker.terminate()
          retiring.add(terminated)
          void terminated.finally(() => retiring.delete(terminated))
        }, timeoutMs)
      }
    }

    const pump = () => {
      while (queue.size() > 0) {
        const slot = slots.find((s) => s.state === "idle")
        if (slot === undefined) return
        const job = queue.shift()!
        if (!job.cancelled) dispatch(slot, job)
      }
    }

    const finishRun = (slot: Slot, message: Extract<FromWorker, { type: "result" | "run-failed" }>) => {
      const job = slot.job
      if (job === undefined || job.id !== message.id) return
      clearTimeout(slot.timer)
      slot.timer = undefined
      slot.job = undefined
      slot.state = "idle"
      const packed = job.packed!
      bufferPool.release({ ids: message.ids, mask: message.mask, types: message.types, capacity: packed.set.capacity })
      if (message.type === "result") {
        Deferred.doneUnsafe(
          job.deferred,
          Exit.succeed({
            output: message.output,
            dimension: message.dimension,
            seq: packed.seq,
            worker: slot.index,
            runMs: message.runMs,
            tokens: packed.tokens,
            slots: packed.batch * packed.seq,
            allocatedBytes: packed.allocatedBytes
          })
        )
      } else {
        failJob(job, message.reason, slot.index)
      }
      pump()
    }

    /** The slot's worker is gone (crashed or timed out): fail its batch and replace it. */
    const lose = (slot: Slot, what: string) => {
      const worker = slot.worker
      if (worker === undefined) return
      detach(worker)
      worker.on("error", () => {})
      clearTimeout(slot.timer)
      slot.timer = undefined
      slot.worker = undefined
      slot.threadId = undefined
      slot.state = "dead"
      slot.crashNextRun = false
      const job = slot.job
      slot.job = undefined
      if (job !== undefined) {
        failJob(job, `worker ${slot.index} ${what} while running this batch; it is being replaced`, slot.index)
      }
      for (const [id, ping] of pings) {
        if (ping.slot !== slot.index) continue
        pings.delete(id)
        Deferred.doneUnsafe(
          ping.deferred,
          Exit.fail(new InferenceFailed({ reason: `worker ${slot.index} ${what}`, worker: slot.index }))
        )
      }
      if (!closing) runFork(restart(slot))
    }

    const attach = (slot: Slot, started: Started) => {
      const worker = started.worker
      if (closing) {
        retiring.add(closeWorker(worker))
        return
      }
      slot.worker = worker
      slot.threadId = worker.threadId
      slot.state = "idle"
      slot.lastError = undefined
      spawnFailure = undefined
      worker.on("message", (message: FromWorker) => {
        if (slot.worker !== worker) return
        switch (message.type) {
          case "result":
          case "run-failed":
            return finishRun(slot, message)
          case "pong": {
            const ping = pings.get(message.id)
            if (ping === undefined) return
            pings.delete(message.id)
            Deferred.doneUnsafe(ping.deferred, Exit.void)
            return
          }
        }
      })
      worker.on("error", (error) => {
        if (slot.worker === worker) slot.lastError = error.message
      })
      worker.on("exit", (code) => {
        if (slot.worker !== worker) return
        lose(
          slot,
          slot.lastError === undefined
            ? `exited with code ${code}`
            : `crashed (uncaught exception: ${slot.lastError})`
        )
      })
      pump()
    }

    const restart = (slot: Slot): Effect.Effect<void> =>
      Effect.gen(function*() {
        restarts++
        yield* Metric.update(ModelMetrics.workerRestarts, 1)
        for (let attempt = 0;; attempt++) {
          slot.state = "starting"
          const started = yield* Effect.result(startWorker(options, slot.index, checkPlan))
          if (Result.isSuccess(started)) {
            if (started.success.dimension !== dimension) {
              retiring.add(closeWorker(started.success.worker))
              spawnFailure = `the restarted worker produces ${started.success.dimension}-dimensional embeddings, ` +
                `not ${dimension}`
            } else {
              return attach(slot, started.success)
            }
          } else {
            spawnFailure = started.failure.reason
          }
          slot.state = "dead"
          if (allDead()) {
            failQueued(`no inference worker is running: restarting worker ${slot.index} failed: ${spawnFailure}`)
          }
          yield* Effect.sleep(RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!)
        }
      })

    /** Restarted workers must see the same inputs and outputs as the first one. */
    const checkPlan = (loaded: Loaded): Result.Result<WorkerPlan, string> => {
      const again = resolvePlan(loaded, settings)
      if (Result.isFailure(again)) return again
      return JSON.stringify(again.success) === JSON.stringify(plan)
        ? Result.succeed(plan)
        : Result.fail("model.onnx changed since start-up (its inputs or outputs differ)")
    }

    // The other workers load in parallel.
    attach(slots[0]!, first)
    yield* Effect.forEach(
      slots.slice(1),
      (slot) => Effect.map(startWorker(options, slot.index, checkPlan), (started) => attach(slot, started)),
      { concurrency: "unbounded", discard: true }
    )

    const run = (batch: ReadonlyArray<Encoded>, tokens = false): Effect.Effect<BatchOutput, InferenceFailed> =>
      Effect.suspend(() => {
        if (closing) return Effect.fail(new InferenceFailed({ reason: "the model was shut down" }))
        if (spawnFailure !== undefined && allDead()) {
          return Effect.fail(new InferenceFailed({ reason: `no inference worker is running: ${spawnFailure}` }))
        }
        const job: Job = {
          id: nextJobId++,
          batch,
          deferred: Deferred.makeUnsafe<BatchOutput, InferenceFailed>(),
          tokens,
          cancelled: false,
          packed: undefined
        }
        const slot = queue.size() === 0 ? slots.find((s) => s.state === "idle") : undefined
        if (slot === undefined) queue.push(job)
        else dispatch(slot, job)
        return Deferred.await(job.deferred).pipe(
          Effect.onInterrupt(() =>
            Effect.sync(() => {
              job.cancelled = true
            })
          )
        )
      })

    const ping: Effect.Effect<void, InferenceFailed> = Effect.suspend(() => {
      const slot = slots.find((s) => s.state === "idle") ?? slots.find((s) => s.state === "busy")
      if (slot === undefined) {
        return Effect.fail(
          new InferenceFailed({
            reason: closing
              ? "the model was shut down"
              : `no inference worker is running${spawnFailure === undefined ? " (restarting)" : `: ${spawnFailure}`}`
          })
        )
      }
      const id = nextPingId++
      const deferred = Deferred.makeUnsafe<void, InferenceFailed>()
      pings.set(id, { slot: slot.index, deferred })
      const message: ToWorker = { type: "ping", id }
      slot.worker!.postMessage(message)
      return Deferred.await(deferred).pipe(Effect.ensuring(Effect.sync(() => pings.delete(id))))
    })

    const crash = (index: number, mode: "exit" | "throw" | "next-run"): Effect.Effect<void> =>
      Effect.sync(() => {
        const slot = slots[index]
        if (slot?.worker === undefined) return
        if (mode === "next-run") {
          slot.crashNextRun = true
          return
        }
        const message: ToWorker = { type: "crash", mode }
        slot.worker.postMessage(message)
      })

    return {
      plan,
      dimension,
      workers: options.workers,
      run,
      ping,
      crash,
      threadIds: () => slots.map((slot) => slot.threadId),
      restarts: () => restarts,
      bufferStats: () => bufferPool.stats()
    }
  })
