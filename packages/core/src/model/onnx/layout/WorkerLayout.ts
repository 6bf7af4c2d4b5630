/**
 * Deciding an ONNX model's worker layout (workers x intra-op threads per worker):
 *
 * - both given: as configured;
 * - workers given (or the library default of 1), threads `"auto"`: usable cores / workers;
 * - workers `"auto"`, threads given: usable cores / threads workers, capped by memory (a worker
 *   holds its own copy of the weights; estimated here as 2 x the model file + 64 MiB);
 * - both `"auto"`: calibrated. The candidate layouts (`LayoutChoice.candidates`) are measured on
 *   the model and the machine (`LayoutCalibration`, a few seconds), the rule of
 *   `LayoutChoice.choose` picks one, and the figures are cached (`LayoutCache`) so the next start
 *   on the same model, CPU, cores and onnxruntime only re-applies the rule (with the memory
 *   available then). `recalibrate` measures again.
 *
 * "Usable cores" and "available memory" are the process's real allowance (`Allowance`: affinity
 * mask, cgroup quota and limits), not the host's totals. The workers may take 80 % of the
 * available memory.
 *
 * @since 0.1.0
 */
import { Effect, Option, type Scope } from "effect"
import * as Fs from "node:fs"
import { resolveCacheRoot } from "../../builtin/BuiltinModel.js"
import { englishSentences } from "../../builtin/englishSentences.js"
import type { Encoded } from "../../EmbeddingModel.js"
import type { ModelLoadError } from "../../ModelError.js"
import * as ModelTokenizer from "../../tokenizer/ModelTokenizer.js"
import * as Allowance from "./Allowance.js"
import * as LayoutCache from "./LayoutCache.js"
import * as LayoutCalibration from "./LayoutCalibration.js"
import type { Layout } from "./LayoutChoice.js"
import * as LayoutChoice from "./LayoutChoice.js"

/**
 * How the layout was decided, and from what: what `/info` and the ready log line show.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayoutReport {
  /** `configured`, `cores` (derived from the usable cores), `calibrated` (measured now) or `cached`. */
  readonly source: "configured" | "cores" | "calibrated" | "cached"
  readonly usableCores: number
  /** Memory available to the process when the layout was decided, in bytes. */
  readonly availableMemoryBytes: number
  /** Memory one worker takes (measured, or estimated), in bytes; `undefined` when not needed. */
  readonly memoryPerWorkerBytes: number | undefined
  /** The measured candidates, as the rule judged them (empty unless calibrated or cached). */
  readonly candidates: ReadonlyArray<LayoutChoice.Judged>
  /** Candidates not measured because their workers would not fit in memory. */
  readonly skipped: ReadonlyArray<Layout>
  readonly reason: string
  /** How long the calibration took, and when (cached: when it was measured). */
  readonly calibrationMs: number | undefined
  readonly measuredAt: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResolveOptions {
  /** A count, `"auto"`, or `undefined` (1). */
  readonly workers: number | "auto" | undefined
  /** A count, or `"auto"`/`undefined`. */
  readonly threads: number | "auto" | undefined
  readonly modelFile: string
  readonly tokenizer: ModelTokenizer.ModelTokenizer
  readonly maxLength: number
  /** Builds `layout`'s workers in the current scope (what the model would build). */
  readonly makePool: (layout: Layout) => Effect.Effect<LayoutCalibration.CalibrationPool, ModelLoadError, Scope.Scope>
  /** The session settings other than threads (part of the cache key), e.g. `"spinning=run"`. */
  readonly sessionKey: string
  /** Cache root (default: `ADABATCH_CACHE_DIR`, else `packages/core/.cache`). */
  readonly cacheDir?: string | undefined
  /** Measure again even when a cached calibration exists. */
  readonly recalibrate?: boolean | undefined
  /** Overrides of the calibration's time budget (tests). */
  readonly settings?:
    | Partial<Pick<LayoutCalibration.CalibrationSettings, "windowMs" | "idleRuns" | "idleGapMs">>
    | undefined
  /** The process's allowance (default: `Allowance.read()`). */
  readonly allowance?: Allowance.Allowance | undefined
}

/** Share of the available memory the workers may take. */
const MEMORY_SHARE = 0.8
const MiB = 1024 * 1024

/** Rows of the calibration batches: a short input (16 tokens), a long one (128), as the model allows. */
const SHORT_TOKENS = 16
const LONG_TOKENS = 128
const SHORT_BATCH = 32
const LONG_BATCH = 8

/**
 * A row of exactly `length` tokens (special tokens kept) cut from `ids`, a tokenized long text.
 */
const rowOf = (ids: Int32Array, length: number, suffix: number): Encoded => {
  const n = Math.max(1, Math.min(length, ids.length))
  const out = new Int32Array(n)
  const keep = Math.min(suffix, n - 1)
  out.set(ids.subarray(0, n - keep))
  out.set(ids.subarray(ids.length - keep), n - keep)
  return { ids: out, truncated: false }
}

/**
 * The calibration's batches, tokenized from English text with the model's own tokenizer.
 *
 * @since 0.1.0
 * @category calibration
 */
export const calibrationBatches = (
  tokenizer: ModelTokenizer.ModelTokenizer,
  maxLength: number
): Pick<LayoutCalibration.CalibrationSettings, "short" | "long" | "idle"> => {
  const encoded = ModelTokenizer.encodeOne(tokenizer, englishSentences.join(" "), 0, maxLength, true)
  const ids = encoded._tag === "Success" ? encoded.success.ids : Int32Array.from(tokenizer.probeIds)
  const short = rowOf(ids, SHORT_TOKENS, tokenizer.specialSuffix)
  const long = rowOf(ids, LONG_TOKENS, tokenizer.specialSuffix)
  return {
    short: Array.from({ length: SHORT_BATCH }, () => short),
    long: Array.from({ length: LONG_BATCH }, () => long),
    idle: short
  }
}

const fileSize = (file: string) => {
  try {
    return Fs.statSync(file).size
  } catch {
    return 0
  }
}

const plain = (
  source: "configured" | "cores",
  layout: Layout,
  allowance: Allowance.Allowance,
  reason: string,
  memoryPerWorkerBytes?: number
) => ({
  layout,
  report: {
    source,
    usableCores: allowance.usableCores,
    availableMemoryBytes: allowance.availableMemoryBytes,
    memoryPerWorkerBytes,
    candidates: [],
    skipped: [],
    reason,
    calibrationMs: undefined,
    measuredAt: undefined
  } satisfies LayoutReport
})

/**
 * Decides the layout (see the module's description). Fails only when the model cannot be loaded
 * for a calibration.
 *
 * @since 0.1.0
 * @category resolving
 */
export const resolve = (
  options: ResolveOptions
): Effect.Effect<{ readonly layout: Layout; readonly report: LayoutReport }, ModelLoadError> =>
  Effect.gen(function*() {
    const allowance = options.allowance ?? Allowance.read()
    const cores = allowance.usableCores
    const { threads, workers } = options
    if (workers !== "auto") {
      const w = workers ?? 1
      if (threads !== undefined && threads !== "auto") {
        return plain("configured", { workers: w, threads }, allowance, "workers and threads as configured")
      }
      return plain(
        "cores",
        { workers: w, threads: Math.max(1, Math.floor(cores / w)) },
        allowance,
        `threads: ${cores} usable cores / ${w} worker${w === 1 ? "" : "s"}`
      )
    }
    if (threads !== undefined && threads !== "auto") {
      const perWorker = 2 * fileSize(options.modelFile) + 64 * MiB
      const byMemory = Math.max(1, Math.floor((MEMORY_SHARE * allowance.availableMemoryBytes) / perWorker))
      const w = Math.max(1, Math.min(Math.floor(cores / threads), byMemory))
      return plain(
        "cores",
        { workers: w, threads },
        allowance,
        `workers: ${cores} usable cores / ${threads} thread${threads === 1 ? "" : "s"}` +
          (byMemory < Math.floor(cores / threads) ? `, capped to ${byMemory} by memory` : ""),
        perWorker
      )
    }
    return yield* calibrated(options, allowance)
  })

const calibrated = (options: ResolveOptions, allowance: Allowance.Allowance) =>
  Effect.gen(function*() {
    const cacheRoot = yield* resolveCacheRoot(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir })
    const key: LayoutCache.Key = {
      method: LayoutCache.CALIBRATION_VERSION,
      modelSha256: yield* LayoutCache.sha256File(options.modelFile),
      cpuModel: LayoutCache.cpuModel(),
      usableCores: allowance.usableCores,
      onnxruntime: LayoutCache.onnxruntimeVersion(),
      session: options.sessionKey
    }
    const budget = MEMORY_SHARE * allowance.availableMemoryBytes
    const cached = options.recalibrate === true ? Option.none() : yield* LayoutCache.read(cacheRoot, key)
    let entry: LayoutCache.Entry
    if (Option.isSome(cached)) {
      entry = cached.value
    } else {
      const layouts = LayoutChoice.candidates(allowance.usableCores)
      yield* Effect.logInfo(
        `calibrating the worker layout on ${allowance.usableCores} usable cores: ${
          layouts.map(LayoutChoice.label).join(", ")
        }`
      )
      const calibration = yield* LayoutCalibration.calibrate({
        layouts,
        makePool: options.makePool,
        memoryBudgetBytes: budget,
        settings: {
          ...calibrationBatches(options.tokenizer, options.maxLength),
          windowMs: 250,
          idleRuns: 9,
          idleGapMs: 5,
          ...options.settings
        }
      })
      entry = { key, measuredAt: new Date().toISOString(), calibration }
      yield* LayoutCache.write(cacheRoot, entry)
    }
    const c = entry.calibration
    const choice = LayoutChoice.choose(c.figures, {
      memoryBudgetBytes: budget,
      memoryPerWorkerBytes: c.memoryPerWorkerBytes
    })
    const skipped = c.skipped.length === 0
      ? ""
      : `; not measured (memory): ${c.skipped.map(LayoutChoice.label).join(", ")}`
    const report: LayoutReport = {
      source: Option.isSome(cached) ? "cached" : "calibrated",
      usableCores: allowance.usableCores,
      availableMemoryBytes: allowance.availableMemoryBytes,
      memoryPerWorkerBytes: c.memoryPerWorkerBytes,
      candidates: choice.candidates,
      skipped: c.skipped,
      reason: choice.reason + skipped,
      calibrationMs: c.durationMs,
      measuredAt: entry.measuredAt
    }
    return { layout: { workers: choice.workers, threads: choice.threads }, report }
  })
