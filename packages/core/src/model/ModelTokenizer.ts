/**
 * Tokenization at admission: texts to token ids (special tokens included), cut to the model's
 * maximum length or rejected with `InputTooLong`.
 *
 * Two tokenizers: a Hugging Face `tokenizer.json` (through `@huggingface/tokenizers`), and a
 * built-in word hasher used by the `echo` model when it has no directory. Both are built by
 * `tokenizerCore.mjs`, which the tokenization workers load too.
 *
 * Short calls are tokenized on the calling fiber. No call holds the event loop for long: very long
 * texts are tokenized by a prefix where that provably gives the same ids (`textCut.mjs`), and what
 * would still take more than {@link INLINE_CHARS} characters of tokenizer work goes to a
 * {@link TokenizerPool} of worker threads.
 *
 * @since 0.1.0
 */
import type { Tokenizer } from "@huggingface/tokenizers"
import { Effect, Metric, Result, Schema } from "effect"
import type { Encoded, TokenizeOptions } from "./EmbeddingModel.js"
import { InputTooLong, ModelLoadError, TokenizationFailed, type TokenizerWorkerFailed } from "./ModelError.js"
import * as ModelMetrics from "./ModelMetrics.js"
import { encodeText, encodeTexts } from "./textCut.mjs"
import { buildHuggingFace, builtin as builtinTokenizer, describeHuggingFace } from "./tokenizerCore.mjs"
import type { TokenizerPool } from "./TokenizerPool.js"
import type { FindCut, TextOutcome, TokenizerSource } from "./TokenizerProtocol.js"

/**
 * A loaded tokenizer.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelTokenizer {
  readonly kind: "huggingface" | "builtin"
  /** Token ids of one text, special tokens included. May throw. */
  readonly encode: (text: string) => ArrayLike<number>
  /** How many special tokens the tokenizer appends after the text (e.g. 1 for BERT's `[SEP]`). */
  readonly specialSuffix: number
  /** Id used for padding positions. */
  readonly padId: number
  /** Largest id the tokenizer can produce. */
  readonly maxId: number
  /**
   * One short row of ids for the start-up probe batch: the special tokens around `maxId`, so that
   * a model whose embedding table is smaller than the tokenizer's vocabulary fails at load.
   */
  readonly probeIds: ReadonlyArray<number>
  /** `truncation.max_length` from `tokenizer.json`, if set. */
  readonly truncationMaxLength: number | undefined
  /** Where a very long text may be cut without changing its first ids (`undefined`: nowhere). */
  readonly findCut: FindCut | undefined
  /** Shortens a text without changing its ids (runs of characters inside one over-long word). */
  readonly squeeze: ((text: string) => string) | undefined
  /** What a worker thread needs to build the same tokenizer. */
  readonly source: TokenizerSource
}

const TokenizerSettings = Schema.Struct({
  truncation: Schema.optional(Schema.NullOr(Schema.Struct({ max_length: Schema.optional(Schema.Int) }))),
  padding: Schema.optional(Schema.NullOr(Schema.Struct({ pad_id: Schema.optional(Schema.Int) })))
})

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Builds a tokenizer from the parsed contents of `tokenizer.json` (and, optionally,
 * `tokenizer_config.json`). `path` names the file in errors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJson = (
  json: unknown,
  config: unknown,
  path: string
): Result.Result<ModelTokenizer, ModelLoadError> => {
  const settings = Schema.decodeUnknownResult(TokenizerSettings)(json)
  if (Result.isFailure(settings)) {
    return Result.fail(
      new ModelLoadError({ path, reason: `invalid truncation or padding settings: ${settings.failure.message}` })
    )
  }
  let hf: Tokenizer
  try {
    hf = buildHuggingFace(json, config)
  } catch (cause) {
    return Result.fail(new ModelLoadError({ path, reason: `unsupported tokenizer: ${describe(cause)}`, cause }))
  }
  try {
    return Result.succeed(describeHuggingFace(hf, json, config))
  } catch (cause) {
    return Result.fail(new ModelLoadError({ path, reason: `the tokenizer fails on a probe text: ${describe(cause)}` }))
  }
}

/**
 * A small built-in tokenizer (no file needed): `[CLS]` + one id per word piece + `[SEP]`. Words are
 * lowercased and hashed (FNV-1a) into a BERT-sized vocabulary, cut into pieces of 8 characters;
 * each punctuation character is a token. Its cost grows with the text like a real tokenizer's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const builtin: ModelTokenizer = builtinTokenizer

/**
 * Characters of tokenizer work one call may do on the calling fiber (the event loop, in the
 * server); the texts beyond it go to the tokenization workers. The costliest texts (one token per
 * character: punctuation, CJK) take about 1 µs per character on this project's 2-core machines
 * when idle, so one call holds the event loop for about 10 ms at most (a very long text counts
 * only the prefixes tokenized); ordinary requests, up to about 1,500 words, stay under it.
 *
 * @since 0.1.0
 * @category constants
 */
export const INLINE_CHARS = 8192

const toResult = (
  outcome: TextOutcome,
  index: number,
  maxLength: number
): Result.Result<Encoded, InputTooLong | TokenizationFailed> => {
  switch (outcome.type) {
    case "encoded":
      return Result.succeed({ ids: outcome.ids, truncated: outcome.truncated })
    case "too-long":
      return Result.fail(new InputTooLong({ index, tokens: outcome.tokens, maxLength, atLeast: outcome.atLeast }))
    case "failed":
      return Result.fail(new TokenizationFailed({ index, reason: outcome.reason }))
  }
}

/**
 * Encodes one text and applies the length limit: longer inputs are cut to `maxLength` keeping the
 * trailing special tokens (`[CLS] … [SEP]` stays well-formed), or rejected with `InputTooLong`.
 * A very long text is tokenized by a prefix when the tokenizer can cut it without changing its
 * first ids (then a refusal says "at least" so many tokens).
 *
 * @since 0.1.0
 * @category tokenization
 */
export const encodeOne = (
  tokenizer: ModelTokenizer,
  text: string,
  index: number,
  maxLength: number,
  truncate: boolean
): Result.Result<Encoded, InputTooLong | TokenizationFailed> =>
  toResult(encodeText(tokenizer, text, maxLength, truncate, { left: Infinity })!, index, maxLength)

/**
 * The first refusal of a call, or its encoded texts. `outcomes` ends at the first refusal; an
 * entry is `undefined` only after a refusal with a smaller index.
 */
const settle = (
  outcomes: ReadonlyArray<TextOutcome | undefined>,
  maxLength: number
): Result.Result<Array<Encoded>, InputTooLong | TokenizationFailed> => {
  const out: Array<Encoded> = new Array(outcomes.length)
  for (let i = 0; i < outcomes.length; i++) {
    const result = toResult(outcomes[i]!, i, maxLength)
    if (Result.isFailure(result)) return Result.fail(result.failure)
    out[i] = result.success
  }
  return Result.succeed(out)
}

/**
 * Tokenizes a call's texts and records the time spent in `adabatch_model_tokenization_seconds`.
 * Up to {@link INLINE_CHARS} characters of tokenizer work run synchronously on the calling fiber;
 * the texts left over go to `pool` in one job (without a pool, everything runs on the calling
 * fiber). Fails with the first text that is too long (when `truncate` is false) or that the
 * tokenizer rejects; `index` is the text's position in `texts`.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const tokenize = (
  tokenizer: ModelTokenizer,
  maxLength: number,
  texts: ReadonlyArray<string>,
  options: TokenizeOptions,
  pool?: TokenizerPool
): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed> =>
  Effect.suspend(() => {
    const start = performance.now()
    const budget = { left: pool === undefined ? Infinity : INLINE_CHARS }
    const outcomes = encodeTexts(tokenizer, texts, maxLength, options.truncate, budget)
    const finish = (all: ReadonlyArray<TextOutcome | undefined>) =>
      Effect.andThen(
        Metric.update(ModelMetrics.tokenizationMs, performance.now() - start),
        Effect.fromResult(settle(all, maxLength))
      )
    const left: Array<number> = []
    for (let i = 0; i < outcomes.length; i++) if (outcomes[i] === undefined) left.push(i)
    if (left.length === 0 || pool === undefined) return finish(outcomes)
    return Effect.flatMap(pool.encode(left.map((i) => texts[i]!), maxLength, options.truncate), (done) => {
      for (let k = 0; k < done.length; k++) outcomes[left[k]!] = done[k]
      return finish(outcomes)
    })
  })
