/**
 * What every scenario of a run shares: the options, the progress bar, the model under test and
 * the model-ceiling worker (started once, kept for the whole run so that raw figures can be
 * measured right next to the system figures they are compared with).
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Core from "./Core.js"
import type { InputKind } from "./Inputs.js"
import * as Inputs from "./Inputs.js"
import * as ModelCeiling from "./ModelCeiling.js"
import type { BenchOptions } from "./Options.js"
import type { Progress } from "./Progress.js"

/**
 * The model under test, resolved.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelUnderTest {
  /** As given: `default`, `tiny`, `echo` or a directory. */
  readonly name: string
  /** The model directory (`undefined` for echo). */
  readonly dir: string | undefined
  /** The ONNX file (`undefined` for echo). */
  readonly onnxPath: string | undefined
  /** Largest token id used for synthetic ceiling inputs. */
  readonly vocabSize: number
}

/**
 * The shared environment of a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Env {
  readonly options: BenchOptions
  readonly progress: Progress
  readonly model: ModelUnderTest
  /** Intra-op threads the model layer uses (and so the ceiling worker too). */
  readonly intraOpNumThreads: number
  readonly workers: number
  /** The ceiling worker (`undefined` for the echo model). */
  readonly ceiling: ModelCeiling.ModelCeiling | undefined
  /** The model under test, built once in this process, shared by the in-process systems. */
  readonly inProcess: Core.EmbeddingModelService | undefined
  /** The input sets, tokenized with the model's tokenizer. */
  readonly inputs: Readonly<Record<InputKind, Inputs.InputSet<Core.Encoded>>> | undefined
  /** A short sentence for the idle-latency tests, and its token count. */
  readonly idleText: { readonly text: string; readonly tokens: number } | undefined
}

const findOnnx = (dir: string): string | undefined => {
  for (const candidate of ["model.onnx", "onnx/model.onnx", "model_optimized.onnx"]) {
    const p = Path.join(dir, candidate)
    if (Fs.existsSync(p)) return p
  }
  const any = Fs.readdirSync(dir).find((f) => f.endsWith(".onnx"))
  return any === undefined ? undefined : Path.join(dir, any)
}

const vocabOf = (dir: string): number => {
  try {
    const config = JSON.parse(Fs.readFileSync(Path.join(dir, "config.json"), "utf8")) as { vocab_size?: number }
    return typeof config.vocab_size === "number" ? config.vocab_size : 1000
  } catch {
    return 1000
  }
}

/**
 * The text of every idle-latency test: one everyday sentence.
 *
 * @since 0.1.0
 * @category constants
 */
export const idleSentence = "How do I reset my password if I no longer have access to my email?"

/**
 * Resolves the model name to a directory (generating a built-in model if needed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolveModel = (name: string): Effect.Effect<ModelUnderTest, Core.ModelLoadError> =>
  Effect.gen(function*() {
    if (name === "echo") return { name, dir: undefined, onnxPath: undefined, vocabSize: 1000 }
    const dir = name === "default" || name === "tiny" ? yield* Core.ensureBuiltinModel(name) : Path.resolve(name)
    const onnxPath = findOnnx(dir)
    if (onnxPath === undefined) {
      return yield* Effect.fail(new Core.ModelLoadError({ path: dir, reason: "no .onnx file in the model directory" }))
    }
    return { name, dir, onnxPath, vocabSize: vocabOf(dir) }
  })

/**
 * Builds the environment; the ceiling worker lives until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: BenchOptions,
  progress: Progress
): Effect.Effect<Env, Core.ModelLoadError | ModelCeiling.ModelCeilingError, Scope.Scope> =>
  Effect.gen(function*() {
    const model = yield* resolveModel(options.model)
    const needsModel = options.scenarios.some((s) =>
      s === "original" || s === "peer" || s === "systems" || s === "load" || s === "memory" || s === "layout" ||
      s === "replicas"
    )
    let inProcess: Core.EmbeddingModelService | undefined
    if (needsModel) {
      progress.step("setup", `loading model ${options.model} in process`, 3)
      inProcess = yield* Core.modelFor({
        model: options.model,
        workers: options.workers,
        intraOpNumThreads: options.intraOpNumThreads
      })
    }
    // the model layer's own choice when it was built, else its documented default
    const workers = inProcess?.info.workers ?? options.workers ?? 1
    const intraOpNumThreads = inProcess?.info.intraOpNumThreads ?? options.intraOpNumThreads ??
      Math.max(1, Math.floor(Core.availableCores() / workers))
    const ceiling = model.onnxPath === undefined
      ? undefined
      : yield* ModelCeiling.start({ modelPath: model.onnxPath, intraOpNumThreads, maxTokenId: model.vocabSize })
    if (inProcess === undefined) {
      return {
        options,
        progress,
        model,
        intraOpNumThreads,
        workers,
        ceiling,
        inProcess: undefined,
        inputs: undefined,
        idleText: undefined
      }
    }
    const m = inProcess
    // one text per call: a short call is tokenized synchronously (a long one could go to a
    // tokenization worker, which runSync cannot wait for)
    const tokenize = (texts: ReadonlyArray<string>) =>
      texts.map((text) => {
        const encoded = Effect.runSync(m.tokenize([text], { truncate: true }))[0]!
        return { tokens: encoded.ids.length, encoded }
      })
    progress.step("setup", "building input sets", 1)
    const build = (kind: InputKind) =>
      Inputs.build({
        kind,
        corpus: Core.englishSentences,
        count: kind === "mix" ? 512 : 256,
        seed: options.seed,
        maxLength: m.info.maxLength,
        tokenize
      })
    const inputs = { short: build("short"), long: build("long"), mix: build("mix") }
    const idleText = { text: idleSentence, tokens: tokenize([idleSentence])[0]!.tokens }
    return { options, progress, model, intraOpNumThreads, workers, ceiling, inProcess, inputs, idleText }
  })

/**
 * The window length of the run in milliseconds.
 *
 * @since 0.1.0
 * @category utils
 */
export const windowMs = (env: Env): number => env.options.seconds * 1000
