/**
 * Tokenization at admission: texts to token ids (special tokens included), cut to the model's
 * maximum length or rejected with `InputTooLong`.
 *
 * Two tokenizers: a Hugging Face `tokenizer.json` (through `@huggingface/tokenizers`), and a
 * built-in word hasher used by the `echo` model when it has no directory.
 *
 * @since 0.1.0
 */
import { Tokenizer } from "@huggingface/tokenizers"
import { Effect, Metric, Result, Schema } from "effect"
import type { Encoded, TokenizeOptions } from "./EmbeddingModel.js"
import { InputTooLong, ModelLoadError, TokenizationFailed } from "./ModelError.js"
import * as ModelMetrics from "./ModelMetrics.js"

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
}

const TokenizerSettings = Schema.Struct({
  truncation: Schema.optional(Schema.NullOr(Schema.Struct({ max_length: Schema.optional(Schema.Int) }))),
  padding: Schema.optional(Schema.NullOr(Schema.Struct({ pad_id: Schema.optional(Schema.Int) })))
})

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Index of `needle` as a contiguous run inside `haystack`, or -1. */
const indexOfRun = (haystack: ArrayLike<number>, needle: ArrayLike<number>): number => {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[start + j] !== needle[j]) continue outer
    }
    return start
  }
  return -1
}

/** Printable ASCII, tabs and line breaks: the texts whose BERT normalisation has a closed form. */
const SIMPLE_TEXT = /^[\x20-\x7e\t\n\r]*$/
const BREAKS = /[\t\n\r]/g

/**
 * A shortcut through `BertNormalizer` for the common case. The library's normaliser walks the text
 * one character at a time (a regular expression test and a one-character string per character,
 * joined at the end): over a third of the bytes allocated per request. For printable ASCII with
 * tabs and line breaks its result is known: no control characters to drop, tabs and line breaks
 * become spaces (`clean_text`), no CJK characters to space out, no accents to strip, then lower
 * case if configured. Such texts take the shortcut; any other text, and any other normaliser, goes
 * the library's way. Tests compare both ways on random texts.
 */
const shortcutBertNormalizer = (hf: Tokenizer): void => {
  // the library's normalisers are callable objects: `normalizer(text)` calls `normalize(text)`
  const normalizer = (hf as unknown as { readonly normalizer: unknown }).normalizer as
    | ((text: string) => string) & { config?: Record<string, unknown>; normalize: (text: string) => string }
    | null
    | undefined
  if (typeof normalizer !== "function" || normalizer.config?.["type"] !== "BertNormalizer") return
  const clean = Boolean(normalizer.config["clean_text"])
  const lowercase = Boolean(normalizer.config["lowercase"])
  const library = normalizer.normalize.bind(normalizer)
  normalizer.normalize = (text) => {
    if (!SIMPLE_TEXT.test(text)) return library(text)
    const cleaned = clean ? text.replace(BREAKS, " ") : text
    return lowercase ? cleaned.toLowerCase() : cleaned
  }
}

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
    hf = new Tokenizer(json as object, (config ?? {}) as object)
  } catch (cause) {
    return Result.fail(new ModelLoadError({ path, reason: `unsupported tokenizer: ${describe(cause)}`, cause }))
  }
  shortcutBertNormalizer(hf)
  try {
    const probe = "hello world"
    const withSpecial = hf.encode(probe).ids
    const plain = hf.encode(probe, { add_special_tokens: false }).ids
    const at = plain.length === 0 ? -1 : indexOfRun(withSpecial, plain)
    const specialSuffix = at < 0 ? 0 : withSpecial.length - at - plain.length
    const specials = hf.encode("").ids
    let maxId = 0
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id
    const prefixLength = specials.length - Math.min(specialSuffix, specials.length)
    const probeIds = [...specials.slice(0, prefixLength), maxId, ...specials.slice(prefixLength)]
    const padId = settings.success.padding?.pad_id ?? hf.token_to_id("[PAD]") ?? hf.token_to_id("<pad>") ?? 0
    return Result.succeed({
      kind: "huggingface",
      encode: (text) => hf.encode(text).ids,
      specialSuffix,
      padId,
      maxId,
      probeIds,
      truncationMaxLength: settings.success.truncation?.max_length
    })
  } catch (cause) {
    return Result.fail(new ModelLoadError({ path, reason: `the tokenizer fails on a probe text: ${describe(cause)}` }))
  }
}

const BUILTIN_CLS = 101
const BUILTIN_SEP = 102
const BUILTIN_FIRST_WORD_ID = 1000
const BUILTIN_VOCAB = 30522
const BUILTIN_PIECE = 8

const isWordChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code > 127

const isSpace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13) || code === 160

const wordId = (hash: number): number =>
  BUILTIN_FIRST_WORD_ID + ((hash >>> 0) % (BUILTIN_VOCAB - BUILTIN_FIRST_WORD_ID))

/**
 * A small built-in tokenizer (no file needed): `[CLS]` + one id per word piece + `[SEP]`. Words are
 * lowercased and hashed (FNV-1a) into a BERT-sized vocabulary, cut into pieces of 8 characters;
 * each punctuation character is a token. Its cost grows with the text like a real tokenizer's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const builtin: ModelTokenizer = {
  kind: "builtin",
  encode: (text) => {
    const ids: Array<number> = [BUILTIN_CLS]
    let hash = 0x811c9dc5
    let length = 0
    for (let i = 0; i <= text.length; i++) {
      const code = i < text.length ? text.charCodeAt(i) : 32
      if (isWordChar(code)) {
        hash = Math.imul(hash ^ (code >= 65 && code <= 90 ? code + 32 : code), 0x01000193)
        if (++length === BUILTIN_PIECE) {
          ids.push(wordId(hash))
          hash = 0x811c9dc5
          length = 0
        }
        continue
      }
      if (length > 0) {
        ids.push(wordId(hash))
        hash = 0x811c9dc5
        length = 0
      }
      if (!isSpace(code)) ids.push(wordId(Math.imul(0x811c9dc5 ^ code, 0x01000193)))
    }
    ids.push(BUILTIN_SEP)
    return ids
  },
  specialSuffix: 1,
  padId: 0,
  maxId: BUILTIN_VOCAB - 1,
  probeIds: [BUILTIN_CLS, BUILTIN_VOCAB - 1, BUILTIN_SEP],
  truncationMaxLength: undefined
}

/**
 * A text longer than this many characters per allowed token is tokenized by a prefix first: a
 * 2 MB string would otherwise hold the event loop for seconds only to learn that it is too long,
 * or to keep its first 512 tokens.
 */
const PREFIX_CHARS_PER_TOKEN = 16

/** Tokens past the maximum the prefix must give before its tokens stand for the whole text's. */
const PREFIX_MARGIN = 8

/**
 * The prefix of a very long `text` to tokenize instead of the whole: cut at a whitespace, so every
 * word in it is whole and its tokens are exactly the first tokens of the whole text (tokenizers
 * split words at whitespace before anything else). `undefined`: tokenize the whole text (it is
 * short enough, or there is no whitespace to cut at near the window's end).
 */
const longTextPrefix = (text: string, maxLength: number): string | undefined => {
  const window = maxLength * PREFIX_CHARS_PER_TOKEN
  if (text.length <= window) return undefined
  for (let i = window; i > window >> 1; i--) {
    if (isSpace(text.charCodeAt(i))) return text.slice(0, i)
  }
  return undefined
}

/**
 * Encodes one text and applies the length limit: longer inputs are cut to `maxLength` keeping the
 * trailing special tokens (`[CLS] … [SEP]` stays well-formed), or rejected with `InputTooLong`.
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
): Result.Result<Encoded, InputTooLong | TokenizationFailed> => {
  let ids: ArrayLike<number>
  let atLeast = false
  try {
    const prefix = longTextPrefix(text, maxLength)
    ids = prefix === undefined ? tokenizer.encode(text) : tokenizer.encode(prefix)
    if (prefix !== undefined) {
      // enough tokens before the cut: they begin the whole text's tokens, which are more still
      if (ids.length >= maxLength + PREFIX_MARGIN) atLeast = true
      else ids = tokenizer.encode(text)
    }
  } catch (cause) {
    return Result.fail(new TokenizationFailed({ index, reason: describe(cause) }))
  }
  const length = ids.length
  if (length <= maxLength) return Result.succeed({ ids: Int32Array.from(ids), truncated: false })
  if (!truncate) return Result.fail(new InputTooLong({ index, tokens: length, maxLength, atLeast }))
  const out = new Int32Array(maxLength)
  const suffix = tokenizer.specialSuffix < maxLength ? tokenizer.specialSuffix : 0
  const head = maxLength - suffix
  for (let i = 0; i < head; i++) out[i] = ids[i]!
  for (let i = 0; i < suffix; i++) out[head + i] = ids[length - suffix + i]!
  return Result.succeed({ ids: out, truncated: true })
}

/**
 * Tokenizes a call's texts synchronously on the calling fiber and records the time spent in
 * `adabatch_model_tokenization_seconds`. Fails with the first text that is too long (when `truncate` is
 * false) or that the tokenizer rejects; `index` is the text's position in `texts`.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const tokenize = (
  tokenizer: ModelTokenizer,
  maxLength: number,
  texts: ReadonlyArray<string>,
  options: TokenizeOptions
): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed> =>
  Effect.suspend(() => {
    const start = performance.now()
    const out: Array<Encoded> = new Array(texts.length)
    for (let i = 0; i < texts.length; i++) {
      const encoded = encodeOne(tokenizer, texts[i]!, i, maxLength, options.truncate)
      if (Result.isFailure(encoded)) return Effect.fail(encoded.failure)
      out[i] = encoded.success
    }
    return Effect.as(Metric.update(ModelMetrics.tokenizationMs, performance.now() - start), out)
  })
