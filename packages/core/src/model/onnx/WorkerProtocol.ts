/**
 * The messages exchanged between the main thread (`WorkerPool`) and an inference worker
 * (`worker.mjs`). Types only: `worker.mjs` imports them through JSDoc.
 *
 * A worker's life: it loads the session from `WorkerData` and posts `Loaded` (or `LoadFailed`);
 * the pool answers with `Init` (the plan it derived from the session's inputs and outputs); the
 * worker runs one probe batch and posts `Ready` (or `InitFailed`). From then on it answers `Run`
 * with `Result` or `RunFailed`, and `Ping` with `Pong`; `Close` releases the session and ends the
 * thread.
 *
 * Int64 inputs travel as transferred `ArrayBuffer`s (the bytes of `BigInt64Array`s) and come back
 * with the reply, so the main thread can reuse them; the output is a transferred `Float32Array`.
 *
 * @since 0.1.0
 */

/**
 * Session options given to `InferenceSession.create` in the worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerSessionOptions {
  readonly intraOpNumThreads: number
  readonly interOpNumThreads: number
  readonly graphOptimizationLevel: "disabled" | "basic" | "extended" | "all"
  readonly executionMode: "sequential" | "parallel"
  /** When onnxruntime's pool threads spin-wait for work: see {@link Spinning}. */
  readonly spinning: Spinning
}

/**
 * When onnxruntime's intra-op pool threads spin-wait for work instead of sleeping:
 *
 * - `"run"`: while a run lasts, and not after it (`session.intra_op.allow_spinning` with
 *   `session.force_spinning_stop`). A run hands work to its threads once per parallel operator, so a
 *   sleeping thread would be woken dozens of times per run; idle threads take no CPU between runs.
 * - `"always"`: also for a while after each run (onnxruntime's default): the next run starts a
 *   little faster, but the spinning threads take CPU from the main thread and from other workers.
 * - `"off"`: never; every hand-off wakes a sleeping thread.
 *
 * @since 0.1.0
 * @category models
 */
export type Spinning = "run" | "always" | "off"

/**
 * `workerData` of an inference worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerData {
  /** Absolute path of `model.onnx`. */
  readonly modelPath: string
  readonly sessionOptions: WorkerSessionOptions
  /** Slot index of the worker in its pool. */
  readonly index: number
}

/**
 * What the worker computes, decided by the pool from the session's inputs and outputs.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkerPlan {
  readonly inputIds: string
  readonly attentionMask: string
  /** Fed with zeros when the model has it. */
  readonly tokenTypeIds: string | undefined
  readonly output: string
  /** `"pooled"`: the output is `[batch, dim]`; `"tokens"`: `[batch, seq, dim]`, pooled in the worker. */
  readonly outputKind: "pooled" | "tokens"
  /** The token-level output (`[batch, seq, dim]`, read for token states), if the model has one. */
  readonly tokenOutput: string | undefined
  readonly pooling: "mean" | "cls"
  readonly normalize: boolean
  /** Token ids of the probe batch run once at start-up (one row). */
  readonly probeIds: ReadonlyArray<number>
}

/**
 * Metadata of one session input or output, as reported by onnxruntime.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueInfo {
  readonly name: string
  readonly isTensor: boolean
  /** e.g. `"int64"`, `"float32"`; `undefined` for non-tensors. */
  readonly type: string | undefined
  /** Dimensions: numbers for fixed sizes, strings for symbolic ones; empty when unknown. */
  readonly shape: ReadonlyArray<number | string>
}

/**
 * A fault the worker injects while running a batch (reliability tests): `"crash"` ends the thread
 * with `process.exit`, `"fail"` makes the run throw, `"hang"` blocks the thread forever (until it
 * is terminated: by the run timeout, or when the pool closes).
 *
 * @since 0.1.0
 * @category models
 */
export type RunFault = "crash" | "fail" | "hang"

/**
 * Main thread -> worker.
 *
 * @since 0.1.0
 * @category models
 */
export type ToWorker =
  | { readonly type: "init"; readonly plan: WorkerPlan }
  | {
    readonly type: "run"
    readonly id: number
    readonly batch: number
    readonly seq: number
    readonly ids: ArrayBuffer
    readonly mask: ArrayBuffer
    readonly types: ArrayBuffer | undefined
    readonly fault: RunFault | undefined
    /** Return the token states (`plan.tokenOutput`, `[batch, seq, dim]`, as computed) instead of embeddings. */
    readonly tokens: boolean
  }
  | { readonly type: "ping"; readonly id: number }
  | { readonly type: "crash"; readonly mode: "exit" | "throw" }
  | { readonly type: "close" }

/**
 * Worker -> main thread.
 *
 * @since 0.1.0
 * @category models
 */
export type FromWorker =
  | {
    readonly type: "loaded"
    readonly inputs: ReadonlyArray<ValueInfo>
    readonly outputs: ReadonlyArray<ValueInfo>
  }
  | { readonly type: "load-failed"; readonly reason: string }
  | { readonly type: "ready"; readonly dimension: number }
  | { readonly type: "init-failed"; readonly reason: string }
  | {
    readonly type: "result"
    readonly id: number
    /** `batch * dimension` floats, row-major. */
    readonly output: Float32Array
    readonly dimension: number
    /** Time spent in `session.run` plus pooling, measured in the worker. */
    readonly runMs: number
    readonly ids: ArrayBuffer
    readonly mask: ArrayBuffer
    readonly types: ArrayBuffer | undefined
  }
  | {
    readonly type: "run-failed"
    readonly id: number
    readonly reason: string
    readonly ids: ArrayBuffer
    readonly mask: ArrayBuffer
    readonly types: ArrayBuffer | undefined
  }
  | { readonly type: "pong"; readonly id: number }
