// @ts-check
/**
 * The tokenizers themselves, built the same way on the main thread (`ModelTokenizer.ts`) and in
 * the tokenization workers (`tokenizerWorker.mjs`): a Hugging Face `tokenizer.json` through
 * `@huggingface/tokenizers` (with the exact fast paths of `tokenizerFastPaths.mjs`), and the
 * built-in word hasher of the `echo` model.
 *
 * Plain JavaScript, like `worker.mjs`, so that the tokenization worker threads can import it.
 *
 * @since 0.1.0
 */
import { Tokenizer } from "@huggingface/tokenizers"
import { bertFindCut, bertSqueeze, builtinFindCut } from "./cutRules.mjs"
import { shortcutBertNormalizer, shortcutWordPiece } from "./tokenizerFastPaths.mjs"

/** @typedef {import("./ModelTokenizer.js").CoreTokenizer} ModelTokenizer */
/** @typedef {import("./TokenizerProtocol.js").TokenizerSource} TokenizerSource */

/**
 * Builds a `@huggingface/tokenizers` tokenizer from the parsed `tokenizer.json` and
 * `tokenizer_config.json`, with the fast paths installed. Throws when the library cannot build it.
 *
 * @since 0.1.0
 * @category constructors
 * @param {unknown} json
 * @param {unknown} config
 * @returns {Tokenizer}
 */
export const buildHuggingFace = (json, config) => {
  const hf = new Tokenizer(/** @type {object} */ (json), /** @type {object} */ (config ?? {}))
  const parts = /** @type {{ normalizer: unknown, model: unknown }} */ (/** @type {unknown} */ (hf))
  shortcutBertNormalizer(parts.normalizer)
  shortcutWordPiece(parts.model)
  return hf
}

/**
 * Index of `needle` as a contiguous run inside `haystack`, or -1.
 *
 * @param {ArrayLike<number>} haystack
 * @param {ArrayLike<number>} needle
 */
const indexOfRun = (haystack, needle) => {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[start + j] !== needle[j]) continue outer
    }
    return start
  }
  return -1
}

/**
 * The `ModelTokenizer` of a built Hugging Face tokenizer: probes it for its special tokens and
 * largest id. Throws when the tokenizer fails on the probe text. `json` must have passed
 * `ModelTokenizer.fromJson`'s checks of its truncation and padding settings.
 *
 * @since 0.1.0
 * @category constructors
 * @param {Tokenizer} hf
 * @param {unknown} json
 * @param {unknown} config
 * @returns {ModelTokenizer}
 */
export const describeHuggingFace = (hf, json, config) => {
  const document = /** @type {Record<string, any>} */ (json)
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
  /** @type {number | undefined} */
  const padSetting = document["padding"]?.["pad_id"]
  const padId = padSetting ?? hf.token_to_id("[PAD]") ?? hf.token_to_id("<pad>") ?? 0
  return {
    kind: "huggingface",
    encode: (text) => hf.encode(text).ids,
    specialPrefix: prefixLength,
    specialSuffix,
    padId,
    maxId,
    probeIds,
    truncationMaxLength: document["truncation"]?.["max_length"] ?? undefined,
    findCut: bertFindCut(document, /** @type {any} */ (hf)),
    squeeze: bertSqueeze(document, /** @type {any} */ (hf)),
    source: { kind: "huggingface", json, config }
  }
}

const BUILTIN_CLS = 101
const BUILTIN_SEP = 102
const BUILTIN_FIRST_WORD_ID = 1000
const BUILTIN_VOCAB = 30522
const BUILTIN_PIECE = 8

const isWordChar = (/** @type {number} */ code) =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code > 127

const isSpace = (/** @type {number} */ code) => code === 32 || (code >= 9 && code <= 13) || code === 160

const wordId = (/** @type {number} */ hash) =>
  BUILTIN_FIRST_WORD_ID + ((hash >>> 0) % (BUILTIN_VOCAB - BUILTIN_FIRST_WORD_ID))

/**
 * `[CLS]` + one id per word piece + `[SEP]`.
 *
 * @param {string} text
 */
const hashWords = (text) => {
  const ids = [BUILTIN_CLS]
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
}

/**
 * A small built-in tokenizer (no file needed): `[CLS]` + one id per word piece + `[SEP]`. Words are
 * lowercased and hashed (FNV-1a) into a BERT-sized vocabulary, cut into pieces of 8 characters;
 * each punctuation character is a token. Its cost grows with the text like a real tokenizer's.
 *
 * @since 0.1.0
 * @category constructors
 * @type {ModelTokenizer}
 */
export const builtin = {
  kind: "builtin",
  encode: hashWords,
  specialPrefix: 1,
  specialSuffix: 1,
  padId: 0,
  maxId: BUILTIN_VOCAB - 1,
  probeIds: [BUILTIN_CLS, BUILTIN_VOCAB - 1, BUILTIN_SEP],
  truncationMaxLength: undefined,
  findCut: builtinFindCut(BUILTIN_PIECE),
  squeeze: undefined,
  source: { kind: "builtin" }
}

/**
 * Builds the tokenizer a source describes (in a worker: the same tokenizer as the main thread's).
 *
 * @since 0.1.0
 * @category constructors
 * @param {TokenizerSource} source
 * @returns {ModelTokenizer}
 */
export const fromSource = (source) =>
  source.kind === "builtin"
    ? builtin
    : describeHuggingFace(buildHuggingFace(source.json, source.config), source.json, source.config)
