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
import type { Encoded, Input, Token, TokenizeOptions, TokensOptions } from "./EmbeddingModel.js"
import { InputTooLong, ModelLoadError, TokenizationFailed } from "./ModelError.js"
import * as ModelMetrics from "./ModelMetrics.js"
import * as TokenOffsets from "./TokenOffsets.js"

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
  /** Token ids of one text, with or without the special tokens. May throw. */
  readonly encodeWith: (text: string, addSpecialTokens: boolean) => ArrayLike<number>
  /** The tokens of one text with their ids, text and UTF-8 byte offsets. May throw. */
  readonly details: (text: string, addSpecialTokens: boolean) => Array<Token>
  /** The text of token ids. May throw (an id outside the vocabulary, or a tokenizer that cannot decode). */
  readonly decode: (ids: ReadonlyArray<number>, skipSpecialTokens: boolean) => string
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
    const spelling = spellingOf(json, hf)
    const unk = (json as { model?: { unk_token?: unknown } }).model?.unk_token
    const unkId = typeof unk === "string" ? hf.token_to_id(unk) : undefined
    const specialIds = new Set<number>()
    for (const [id, token] of hf.get_added_tokens_decoder()) if (token.special && id !== unkId) specialIds.add(id)
    return Result.succeed({
      kind: "huggingface",
      encode: (text) => hf.encode(text).ids,
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
      },
      specialPrefix: prefixLength,
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
 * A text longer than this many characters per allowed token is tokenized by a prefix first: a
 * 2 MB string would otherwise hold the event loop for seconds only to learn that it is too long,
 * or to keep its first 512 tokens.
 */
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
  return undefined
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
 * they are (see `encodeIds`).
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
  let ids: ArrayLike<number>
  let atLeast = false
  try {
    const part = longTextPart(input, maxLength, direction)
    ids = part === undefined ? tokenizer.encode(input) : tokenizer.encode(part)
    if (part !== undefined) {
      // enough tokens on this side of the cut: they are the whole text's, which has more still
      if (ids.length >= maxLength + PREFIX_MARGIN) atLeast = true
      else ids = tokenizer.encode(input)
    }
  } catch (cause) {
    return Result.fail(new TokenizationFailed({ index, reason: describe(cause) }))
  }
  const length = ids.length
  if (length <= maxLength) return Result.succeed({ ids: Int32Array.from(ids), truncated: false })
  if (!truncate) return Result.fail(new InputTooLong({ index, tokens: length, maxLength, atLeast }))
  const suffix = tokenizer.specialSuffix < maxLength ? tokenizer.specialSuffix : 0
  const prefix = direction === "right" ? 0 : tokenizer.specialPrefix
  return Result.succeed({ ids: cut(ids, maxLength, direction, prefix, suffix), truncated: true })
}

/** The input with the prompt before it: token ids are decoded first (special tokens left out). */
const withPrompt = (tokenizer: ModelTokenizer, input: Input, prompt: string): string =>
  prompt + (typeof input === "string" ? input : tokenizer.decode(input, true))

/**
 * Tokenizes a call's inputs synchronously on the calling fiber and records the time spent in
 * `adabatch_model_tokenization_seconds`. Fails with the first input that is too long (when `truncate` is
 * false) or that the tokenizer rejects; `index` is the input's position in `inputs`.
 *
 * @since 0.1.0
 * @category tokenization
 */
export const tokenize = (
  tokenizer: ModelTokenizer,
  maxLength: number,
  inputs: ReadonlyArray<Input>,
  options: TokenizeOptions
): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed> =>
  Effect.suspend(() => {
    const start = performance.now()
    const out: Array<Encoded> = new Array(inputs.length)
    const prompt = options.prompt
    const direction = options.direction ?? "right"
    for (let i = 0; i < inputs.length; i++) {
      let input = inputs[i]!
      if (prompt !== undefined) {
        try {
          input = withPrompt(tokenizer, input, prompt)
        } catch (cause) {
          return Effect.fail(new TokenizationFailed({ index: i, reason: describe(cause) }))
        }
      }
      const encoded = encodeOne(tokenizer, input, i, maxLength, options.truncate, direction)
      if (Result.isFailure(encoded)) return Effect.fail(encoded.failure)
      out[i] = encoded.success
    }
    return Effect.as(Metric.update(ModelMetrics.tokenizationMs, performance.now() - start), out)
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
