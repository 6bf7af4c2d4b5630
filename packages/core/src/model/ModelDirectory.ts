/**
 * Reading a model directory: the layout of a Hugging Face / sentence-transformers export.
 *
 * - `model.onnx` (required for ONNX models) — inputs `input_ids`, `attention_mask` and, if the
 *   model has it, `token_type_ids`; output `sentence_embedding`, or token states
 *   (`last_hidden_state` / `token_embeddings`) that adabatch pools itself.
 * - `tokenizer.json` (required), and `tokenizer_config.json` (optional, passed to the tokenizer).
 * - `adabatch.json` (optional): `{ id?, pooling?: "mean" | "cls", normalize?: boolean,
 *   max_length?: number, dimension?: number }`. Unknown keys are rejected, so typos fail loudly.
 * - `config.json` (optional, transformers config): `max_position_embeddings`.
 * - `sentence_bert_config.json` (optional): `max_seq_length`; `1_Pooling/config.json` (optional):
 *   `pooling_mode_mean_tokens` / `pooling_mode_cls_token`.
 * - `config_sentence_transformers.json` (optional): `prompts`, the named prompts (e5's and bge's
 *   `{"query": "query: ", "passage": "passage: "}`) a request can ask for by name.
 *
 * Maximum input length, first found: `adabatch.json` `max_length`, `sentence_bert_config.json`
 * `max_seq_length`, `config.json` `max_position_embeddings`, `tokenizer.json`
 * `truncation.max_length`, else 512. Pooling: `adabatch.json`, then `1_Pooling/config.json`, else
 * mean. Normalisation: `adabatch.json`, else true.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { ModelLoadError } from "./ModelError.js"
import * as ModelTokenizer from "./tokenizer/ModelTokenizer.js"

/**
 * Everything adabatch needs to know about a model directory before starting workers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelManifest {
  /** Absolute path of the directory. */
  readonly path: string
  /** `adabatch.json` `id`, else the directory name. */
  readonly id: string
  /** Absolute path of `model.onnx`. */
  readonly modelFile: string
  readonly tokenizer: ModelTokenizer.ModelTokenizer
  readonly maxLength: number
  /** Which file (and key) the maximum length came from, or `"default"`. */
  readonly maxLengthSource: string
  readonly pooling: "mean" | "cls"
  readonly normalize: boolean
  /** Dimension declared in `adabatch.json`, checked against the model's output at start-up. */
  readonly dimension: number | undefined
  /** `config_sentence_transformers.json` `prompts` (empty when there is none). */
  readonly prompts: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  /** Whether `model.onnx` must exist (the `echo` model only needs the tokenizer). Default true. */
  readonly requireModel?: boolean | undefined
}

/** The default maximum length when no file sets one. */
const DEFAULT_MAX_LENGTH = 512

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const AdabatchConfig = Schema.Struct({
  id: Schema.optional(Schema.String),
  pooling: Schema.optional(Schema.Literals(["mean", "cls"])),
  normalize: Schema.optional(Schema.Boolean),
  max_length: Schema.optional(PositiveInt),
  dimension: Schema.optional(PositiveInt)
})

const TransformersConfig = Schema.Struct({
  max_position_embeddings: Schema.optional(PositiveInt)
})

const SentenceBertConfig = Schema.Struct({
  max_seq_length: Schema.optional(PositiveInt)
})

const SentenceTransformersConfig = Schema.Struct({
  prompts: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.String)))
})

const PoolingConfig = Schema.Struct({
  pooling_mode_cls_token: Schema.optional(Schema.Boolean),
  pooling_mode_mean_tokens: Schema.optional(Schema.Boolean),
  pooling_mode_max_tokens: Schema.optional(Schema.Boolean),
  pooling_mode_mean_sqrt_len_tokens: Schema.optional(Schema.Boolean),
  pooling_mode_weightedmean_tokens: Schema.optional(Schema.Boolean),
  pooling_mode_lasttoken: Schema.optional(Schema.Boolean)
})

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const stat = (path: string) =>
  Effect.tryPromise({
    try: () => Fs.stat(path),
    catch: (cause) => cause
  }).pipe(
    Effect.map((stats): Stats | undefined => stats),
    Effect.catch((cause) =>
      errorCode(cause) === "ENOENT"
        ? Effect.succeed(undefined)
        : Effect.fail(new ModelLoadError({ path, reason: `cannot read it: ${describe(cause)}`, cause }))
    )
  )

const requireFile = (dir: string, name: string, what: string) =>
  Effect.gen(function*() {
    const path = Path.join(dir, name)
    const stats = yield* stat(path)
    if (stats === undefined) return yield* new ModelLoadError({ path, reason: `${name} is missing (${what})` })
    if (!stats.isFile()) return yield* new ModelLoadError({ path, reason: `${name} is not a regular file` })
    return path
  })

/** Reads and parses a JSON file; `undefined` when it does not exist. */
const readJson = (path: string) =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (cause) => cause
  }).pipe(
    Effect.map((text): string | undefined => text),
    Effect.catch((cause) =>
      errorCode(cause) === "ENOENT"
        ? Effect.succeed(undefined)
        : Effect.fail(new ModelLoadError({ path, reason: `cannot read it: ${describe(cause)}`, cause }))
    ),
    Effect.flatMap((text) => {
      if (text === undefined) return Effect.succeed(undefined)
      try {
        return Effect.succeed<unknown>(JSON.parse(text))
      } catch (cause) {
        return Effect.fail(new ModelLoadError({ path, reason: `not valid JSON: ${describe(cause)}`, cause }))
      }
    })
  )

/** Reads an optional JSON config and decodes it with `schema`. */
const readConfig = <S extends Schema.Decoder<unknown>>(
  path: string,
  schema: S,
  options?: { readonly strict: boolean }
): Effect.Effect<S["Type"] | undefined, ModelLoadError> =>
  Effect.flatMap(readJson(path), (json) => {
    if (json === undefined) return Effect.succeed(undefined)
    const decoded = Schema.decodeUnknownResult(schema)(
      json,
      options?.strict ? { onExcessProperty: "error" } : undefined
    )
    return Result.isSuccess(decoded)
      ? Effect.succeed(decoded.success)
      : Effect.fail(new ModelLoadError({ path, reason: `invalid settings: ${decoded.failure.message}` }))
  })

const poolingFrom = (
  path: string,
  config: typeof PoolingConfig.Type
): Effect.Effect<"mean" | "cls" | undefined, ModelLoadError> => {
  const unsupported = (
    [
      ["pooling_mode_max_tokens", config.pooling_mode_max_tokens],
      ["pooling_mode_mean_sqrt_len_tokens", config.pooling_mode_mean_sqrt_len_tokens],
      ["pooling_mode_weightedmean_tokens", config.pooling_mode_weightedmean_tokens],
      ["pooling_mode_lasttoken", config.pooling_mode_lasttoken]
    ] as const
  ).filter(([, on]) => on === true).map(([name]) => name)
  const modes = [
    ...(config.pooling_mode_mean_tokens === true ? ["mean" as const] : []),
    ...(config.pooling_mode_cls_token === true ? ["cls" as const] : [])
  ]
  if (unsupported.length > 0 || modes.length > 1) {
    return Effect.fail(
      new ModelLoadError({
        path,
        reason: `unsupported pooling (${[...unsupported, ...modes.map((m) => `pooling_mode_${m}`)].join(", ")}); ` +
          `adabatch pools with exactly one of mean or cls: set "pooling" in adabatch.json`
      })
    )
  }
  return Effect.succeed(modes[0])
}

/**
 * Reads a model directory. Fails with a `ModelLoadError` naming the file at fault when the
 * directory or a required file is missing, a JSON file is malformed or has invalid settings, or
 * the tokenizer is not supported. The ONNX file itself is checked when the workers load it.
 *
 * @since 0.1.0
 * @category loading
 */
export const load = (dir: string, options?: LoadOptions): Effect.Effect<ModelManifest, ModelLoadError> =>
  Effect.gen(function*() {
    const path = Path.resolve(dir)
    const stats = yield* stat(path)
    if (stats === undefined) return yield* new ModelLoadError({ path, reason: "the model directory does not exist" })
    if (!stats.isDirectory()) return yield* new ModelLoadError({ path, reason: "not a directory" })

    const modelFile = Path.join(path, "model.onnx")
    if (options?.requireModel !== false) {
      yield* requireFile(path, "model.onnx", "expected the model exported to ONNX")
    }
    const tokenizerFile = yield* requireFile(path, "tokenizer.json", "expected a Hugging Face tokenizer.json")
    const tokenizerJson = yield* readJson(tokenizerFile)
    const tokenizerConfig = yield* readJson(Path.join(path, "tokenizer_config.json"))
    const tokenizer = yield* Effect.fromResult(ModelTokenizer.fromJson(tokenizerJson, tokenizerConfig, tokenizerFile))

    const adabatchFile = Path.join(path, "adabatch.json")
    const adabatch = yield* readConfig(adabatchFile, AdabatchConfig, { strict: true })
    const configFile = Path.join(path, "config.json")
    const config = yield* readConfig(configFile, TransformersConfig)
    const sbert = yield* readConfig(Path.join(path, "sentence_bert_config.json"), SentenceBertConfig)
    const poolingFile = Path.join(path, "1_Pooling", "config.json")
    const poolingConfig = yield* readConfig(poolingFile, PoolingConfig)
    const stConfig = yield* readConfig(Path.join(path, "config_sentence_transformers.json"), SentenceTransformersConfig)

    const candidates: ReadonlyArray<readonly [number | undefined, string]> = [
      [adabatch?.max_length, "adabatch.json max_length"],
      [sbert?.max_seq_length, "sentence_bert_config.json max_seq_length"],
      [config?.max_position_embeddings, "config.json max_position_embeddings"],
      [tokenizer.truncationMaxLength, "tokenizer.json truncation.max_length"]
    ]
    const [maxLength, maxLengthSource] = candidates.find(([value]) => value !== undefined && value > 0) ??
      [DEFAULT_MAX_LENGTH, "default"]
    const positions = config?.max_position_embeddings
    if (positions !== undefined && maxLength! > positions) {
      return yield* new ModelLoadError({
        path: adabatch?.max_length === undefined ? path : adabatchFile,
        reason: `maximum length ${maxLength} (${maxLengthSource}) exceeds the model's ${positions} positions ` +
          `(config.json max_position_embeddings)`
      })
    }

    const pooling = adabatch?.pooling ??
      (poolingConfig === undefined ? undefined : yield* poolingFrom(poolingFile, poolingConfig)) ??
      "mean"

    return {
      path,
      id: adabatch?.id ?? Path.basename(path),
      modelFile,
      tokenizer,
      maxLength: maxLength!,
      maxLengthSource,
      pooling,
      normalize: adabatch?.normalize ?? true,
      dimension: adabatch?.dimension,
      prompts: stConfig?.prompts ?? {}
    }
  })
