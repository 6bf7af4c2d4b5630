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
import type { Encoded, Input, Token, TokenizeOptions, TokensOptions } from "../EmbeddingModel.js"
import { InputTooLong, ModelLoadError, TokenizationFailed, type TokenizerWorkerFailed } from "../ModelError.js"
import * as ModelMetrics from "../ModelMetrics.js"
import { encodeText, encodeTexts } from "./textCut.mjs"
import { buildHuggingFace, describeHuggingFace } from "./tokenizerCore.mjs"
import type { TokenizerPool } from "./TokenizerPool.js"
import type { FindCut, TextOutcome, TokenizerSource } from "./TokenizerProtocol.js"
import * as TokenOffsets from "./TokenOffsets.js"

/**
 * What `tokenizerCore.mjs` builds, on the main thread and in the tokenization workers.
 *
 * @since 0.1.0
 * @category models
 */
export interface CoreTokenizer {
  readonly kind: "huggingface" | "builtin"
  /** Token ids of one text, special tokens included. May throw. */
  readonly encode: (text: string) => ArrayLike<number>
  /** How many special tokens the tokenizer puts before the text (e.g. 1 for BERT's `[CLS]`). */
  readonly specialPrefix: number
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

/**
 * A loaded tokenizer: the core, with token details and decoding (main thread only).
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelTokenizer extends CoreTokenizer {
  /** Token ids of one text, with or without the special tokens. May throw. */
  readonly encodeWith: (text: string, addSpecialTokens: boolean) => ArrayLike<number>
  /** The tokens of one text with their ids, text and UTF-8 byte offsets. May throw. */
  readonly details: (text: string, addSpecialTokens: boolean) => Array<Token>
  /** The text of token ids. May throw (an id outside the vocabulary, or a tokenizer that cannot decode). */
  readonly decode: (ids: ReadonlyArray<number>, skipSpecialTokens: boolean) => string
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
    const core = describeHuggingFace(hf, json, config)
    const maxId = core.maxId
    const spelling = spellingOf(json, hf)
    const unk = (json as { model?: { unk_token?: unknown } }).model?.unk_token
    const unkId = typeof unk === "string" ? hf.token_to_id(unk) : undefined
    const specialIds = new Set<number>()
    for (const [id, token] of hf.get_added_tokens_decoder()) if (token.special && id !== unkId) specialIds.add(id)
    return Result.succeed({
      ...core,
      encodeWith: (text, addSpecialTokens) => hf.encode(text, { add_special_tokens: addSpecialTokens }).ids,
      details: (text, addSpecialTokens) => {
        const e = hf.encode(text, { add_special_tokens: addSpecialTokens })
        return TokenOffsets.align(text, e.ids, e.tokens, e.ids.map((id: number) => specialIds.has(id)), spelling)
      },
      decode: (ids, skipSpecialTokens) => {
        for (const id of ids) {
          if (!(id <= maxId)) throw new Error(`token id ${id} is not in the vocabulary (0 to ${maxId})`)
        }
        return hf.decode([...ids], { skip_special_tokens: skipSpecialTokens })
      }
    })
  } catch (cause) {
    return Result.fail(new ModelLoadError({ path, reason: `the tokenizer fails on a probe text: ${describe(cause)}` }))
  }
}

/**
 * The built-in word-hash tokenizer (see `BuiltinTokenizer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export { builtin } from "./BuiltinTokenizer.js"

const isSpace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13) || code === 160

/** Every `type` named in a tokenizer.json component (sequences included), with its settings. */
const componentsOf = (value: unknown): Array<Record<string, unknown>> => {
  if (Array.isArray(value)) return value.flatMap(componentsOf)
  if (typeof value !== "object" || value === null) return []
  const o = value as Record<string, unknown>
  const nested = [o["pretokenizers"], o["decoders"], o["normalizers"]].flatMap(componentsOf)
  return typeof o["type"] === "string" ? [o, ...nested] : nested
}

/** How the tokenizer spells tokens, for `TokenOffsets.align`. */
const spellingOf = (json: unknown, hf: Tokenizer): TokenOffsets.Spelling => {
  const j = json as {
    model?: { type?: unknown; continuing_subword_prefix?: unknown }
    pre_tokenizer?: unknown
    decoder?: unknown
  }
  const parts = [...componentsOf(j.pre_tokenizer), ...componentsOf(j.decoder)]
  const metaspace = parts.find((p) => p["type"] === "Metaspace")
  const prefix = j.model?.continuing_subword_prefix
  const normalizer = (hf as unknown as { readonly normalizer: ((text: string) => string) | null }).normalizer
  return {
    normalize: typeof normalizer === "function" ? (text) => normalizer(text) : (text) => text,
    continuation: j.model?.type === "WordPiece" ? (typeof prefix === "string" ? prefix : "##") : undefined,
    byteLevel: parts.some((p) => p["type"] === "ByteLevel"),
    metaspace: metaspace === undefined
      ? undefined
      : typeof metaspace["replacement"] === "string"
      ? metaspace["replacement"]
      : "\u2581"
  }
}

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

/** Characters of a text per token, at most, in the part `longTextPart` tokenizes. */
const PREFIX_CHARS_PER_TOKEN = 16

/** Tokens past the maximum the prefix must give before its tokens stand for the whole text's. */
const PREFIX_MARGIN = 8

/**
 * The part of a very long `text` to tokenize instead of the whole: its start (`"right"`
 * truncation) or its end (`"left"`), cut at a whitespace, so every word in it is whole and its
 * tokens are exactly the first (last) tokens of the whole text (tokenizers split words at
 * whitespace before anything else). `undefined`: tokenize the whole text (it is short enough, or
 * there is no whitespace to cut at near the window's end).
 */
const longTextPart = (text: string, maxLength: number, direction: "left" | "right"): string | undefined => {
  const window = maxLength * PREFIX_CHARS_PER_TOKEN
  if (text.length <= window) return undefined
  if (direction === "right") {
    for (let i = window; i > window >> 1; i--) {
      if (isSpace(text.charCodeAt(i))) return text.slice(0, i)
    }
    return undefined
  }
  for (let i = text.length - window; i < text.length - (window >> 1); i++) {
    if (isSpace(text.charCodeAt(i))) return text.slice(i + 1)
  }
}

/**
 * Cuts `ids` to `maxLength`: `"right"` keeps the start, `"left"` the end; the first `prefix` and
 * last `suffix` ids (special tokens) stay when they leave room for content.
 */
const cut = (
  ids: ArrayLike<number>,
  maxLength: number,
  direction: "left" | "right",
  prefix: number,
  suffix: number
): Int32Array => {
  const out = new Int32Array(maxLength)
  const length = ids.length
  const keep = prefix + suffix < maxLength
  const pre = keep ? prefix : 0
  const post = keep ? suffix : 0
  const content = maxLength - pre - post
  for (let i = 0; i < pre; i++) out[i] = ids[i]!
  const from = direction === "right" ? pre : length - post - content
  for (let i = 0; i < content; i++) out[pre + i] = ids[from + i]!
  for (let i = 0; i < post; i++) out[pre + content + i] = ids[length - post + i]!
  return out
}

/**
 * Token ids given by the client: used as they are (special tokens included, as given), checked
 * against the vocabulary, cut without regard to special tokens when too long (as TEI does).
 */
const encodeIds = (
  tokenizer: ModelTokenizer,
  ids: ReadonlyArray<number>,
  index: number,
  maxLength: number,
  truncate: boolean,
  direction: "left" | "right"
): Result.Result<Encoded, InputTooLong | TokenizationFailed> => {
  if (ids.length === 0) return Result.fail(new TokenizationFailed({ index, reason: "it has no token ids" }))
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id <= tokenizer.maxId)) {
      return Result.fail(
        new TokenizationFailed({ index, reason: `token id ${id} is not in the vocabulary (0 to ${tokenizer.maxId})` })
      )
    }
  }
  if (ids.length <= maxLength) return Result.succeed({ ids: Int32Array.from(ids), truncated: false })
  if (!truncate) return Result.fail(new InputTooLong({ index, tokens: ids.length, maxLength }))
  return Result.succeed({ ids: cut(ids, maxLength, direction, 0, 0), truncated: true })
}

/**
 * Encodes one input and applies the length limit: longer inputs are cut to `maxLength` (at the
 * end for `"right"`, at the start for `"left"`) keeping the special tokens around the text
 * (`[CLS] … [SEP]` stays well-formed), or rejected with `InputTooLong`. Token-id inputs are used as
 * they are (see `encodeIds`). Right truncation and refusals tokenize a very long text by a prefix
 * where the tokenizer can cut it without changing its first ids (`textCut.mjs`; then a refusal says
 * "at least" so many tokens); left truncation tokenizes the text's end from a whitespace cut
 * (`longTextPart`), else the whole text.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const encodeOne = (
  tokenizer: ModelTokenizer,
  input: Input,
  index: number,
  maxLength: number,
  truncate: boolean,
  direction: "left" | "right" = "right"
): Result.Result<Encoded, InputTooLong | TokenizationFailed> => {
  if (typeof input !== "string") return encodeIds(tokenizer, input, index, maxLength, truncate, direction)
  // the safe cuts of `textCut.mjs` keep a text's first ids: right truncation, and refusals
  if (direction === "right" || !truncate) {
    return toResult(encodeText(tokenizer, input, maxLength, truncate, { left: Infinity })!, index, maxLength)
  }
  let ids: ArrayLike<number>
  try {
    const part = longTextPart(input, maxLength, direction)
    ids = part === undefined ? tokenizer.encode(input) : tokenizer.encode(part)
    // too few tokens on this side of the cut to stand for the whole text's last ones: all of it
    if (part !== undefined && ids.length < maxLength + PREFIX_MARGIN) ids = tokenizer.encode(input)
  } catch (cause) {
    return Result.fail(new TokenizationFailed({ index, reason: describe(cause) }))
  }
  const length = ids.length
  if (length <= maxLength) return Result.succeed({ ids: Int32Array.from(ids), truncated: false })
  const suffix = tokenizer.specialSuffix < maxLength ? tokenizer.specialSuffix : 0
  return Result.succeed({ ids: cut(ids, maxLength, "left", tokenizer.specialPrefix, suffix), truncated: true })
}

/**
 * The first refusal of a call, or its encoded inputs. An entry is `undefined` only after a refusal
 * with a smaller index.
 */
const settle = (
  results: ReadonlyArray<Result.Result<Encoded, InputTooLong | TokenizationFailed> | undefined>
): Result.Result<Array<Encoded>, InputTooLong | TokenizationFailed> => {
  const out: Array<Encoded> = new Array(results.length)
  for (let i = 0; i < results.length; i++) {
    const result = results[i]
    if (result === undefined) return Result.fail(new TokenizationFailed({ index: i, reason: "not tokenized" }))
    if (Result.isFailure(result)) return Result.fail(result.failure)
    out[i] = result.success
  }
  return Result.succeed(out)
}

/** The input with the prompt before it: token ids are decoded first (special tokens left out). */
const withPrompt = (tokenizer: ModelTokenizer, input: Input, prompt: string): string =>
  prompt + (typeof input === "string" ? input : tokenizer.decode(input, true))

/**
 * Tokenizes a call's inputs and records the time spent in `adabatch_model_tokenization_seconds`.
 * The prompt, if any, is put before each input first. Texts with `"right"` truncation take the
 * safe-cut path (`textCut.mjs`): up to {@link INLINE_CHARS} characters of tokenizer work run
 * synchronously on the calling fiber, the texts left over go to `pool` in one job (without a pool,
 * everything runs on the calling fiber); so do the texts that are not truncated at all. Token-id
 * inputs, and texts with `"left"` truncation (the safe cuts keep a text's first ids only), are
 * encoded on the calling fiber by `encodeOne`. Fails
 * with the first input that is too long (when `truncate` is false) or that the tokenizer rejects;
 * `index` is the input's position in `inputs`.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const tokenize = (
  tokenizer: ModelTokenizer,
  maxLength: number,
  inputs: ReadonlyArray<Input>,
  options: TokenizeOptions,
  pool?: TokenizerPool
): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed> =>
  Effect.suspend(() => {
    const start = performance.now()
    const prompt = options.prompt
    const direction = options.direction ?? "right"
    // inputs encoded here (token ids, left truncation, a prompt that failed), by index
    const done: Array<Result.Result<Encoded, InputTooLong | TokenizationFailed> | undefined> = new Array(inputs.length)
    // texts for the safe-cut path, and their indices in `inputs`
    const texts: Array<string> = []
    const at: Array<number> = []
    for (let i = 0; i < inputs.length; i++) {
      let input = inputs[i]!
      if (prompt !== undefined) {
        try {
          input = withPrompt(tokenizer, input, prompt)
        } catch (cause) {
          done[i] = Result.fail(new TokenizationFailed({ index: i, reason: describe(cause) }))
          break
        }
      }
      if (typeof input === "string" && (direction === "right" || !options.truncate)) {
        texts.push(input)
        at.push(i)
        continue
      }
      const encoded = encodeOne(tokenizer, input, i, maxLength, options.truncate, direction)
      done[i] = encoded
      if (Result.isFailure(encoded)) break
    }
    const budget = { left: pool === undefined ? Infinity : INLINE_CHARS }
    const outcomes = encodeTexts(tokenizer, texts, maxLength, options.truncate, budget)
    const finish = (all: ReadonlyArray<TextOutcome | undefined>) => {
      const results = done.slice()
      for (let k = 0; k < all.length; k++) {
        const outcome = all[k]
        if (outcome !== undefined) results[at[k]!] = toResult(outcome, at[k]!, maxLength)
      }
      return Effect.andThen(
        Metric.update(ModelMetrics.tokenizationMs, performance.now() - start),
        Effect.fromResult(settle(results))
      )
    }
    const left: Array<number> = []
    for (let k = 0; k < outcomes.length; k++) if (outcomes[k] === undefined) left.push(k)
    if (left.length === 0 || pool === undefined) return finish(outcomes)
    return Effect.flatMap(pool.encode(left.map((k) => texts[k]!), maxLength, options.truncate), (fromPool) => {
      for (let j = 0; j < fromPool.length; j++) outcomes[left[j]!] = fromPool[j]
      return finish(outcomes)
    })
  })

/**
 * The tokens of each text with ids, text and offsets (TEI's `/tokenize`): the prompt, if any, is
 * part of the text the offsets point into. No length limit and no truncation.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const tokens = (
  tokenizer: ModelTokenizer,
  texts: ReadonlyArray<string>,
  options: TokensOptions
): Effect.Effect<Array<Array<Token>>, TokenizationFailed> =>
  Effect.suspend(() => {
    const out: Array<Array<Token>> = new Array(texts.length)
    for (let i = 0; i < texts.length; i++) {
      try {
        out[i] = tokenizer.details((options.prompt ?? "") + texts[i]!, options.addSpecialTokens)
      } catch (cause) {
        return Effect.fail(new TokenizationFailed({ index: i, reason: describe(cause) }))
      }
    }
    return Effect.succeed(out)
  })

/**
 * The text of each list of token ids (TEI's `/decode`).
 *
 * @since 0.1.0
 * @category tokenization
 */
export const decode = (
  tokenizer: ModelTokenizer,
  ids: ReadonlyArray<ReadonlyArray<number>>,
  skipSpecialTokens: boolean
): Effect.Effect<Array<string>, TokenizationFailed> =>
  Effect.suspend(() => {
    const out: Array<string> = new Array(ids.length)
    for (let i = 0; i < ids.length; i++) {
      try {
        out[i] = tokenizer.decode(ids[i]!, skipSpecialTokens)
      } catch (cause) {
        return Effect.fail(new TokenizationFailed({ index: i, reason: describe(cause) }))
      }
    }
    return Effect.succeed(out)
  })
