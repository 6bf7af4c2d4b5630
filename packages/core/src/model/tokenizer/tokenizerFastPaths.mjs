// @ts-check
/**
 * Exact fast paths through two stages of `@huggingface/tokenizers` that cost far more than they
 * need to. Each replaces a method of one tokenizer instance with code that returns what the
 * library's own method returns for every input (property-tested against the library in
 * `test/model/tokenizerFastPaths.test.ts`).
 *
 * Plain JavaScript, like `worker.mjs`, so that the tokenization worker threads can import it.
 *
 * @since 0.1.0
 */

/**
 * The library's normalisers are callable objects: `normalizer(text)` calls `normalize(text)`.
 *
 * @typedef {((text: string) => string) & {
 *   config?: Record<string, unknown>
 *   normalize: (text: string) => string
 * }} CallableNormalizer
 */

/**
 * The parts of the library's `WordPieceTokenizer` model that the fast path reads.
 *
 * @typedef {{
 *   config: Record<string, unknown>
 *   tokens_to_ids: Map<string, number>
 *   unk_token: string | undefined
 *   max_input_chars_per_word: number
 *   encode: (tokens: Array<string>) => Array<string | undefined>
 * }} WordPieceModel
 */

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
 * the library's way.
 *
 * @since 0.1.0
 * @category fast paths
 * @param {unknown} normalizer the tokenizer's `normalizer` property
 * @returns {boolean} whether the shortcut was installed
 */
export const shortcutBertNormalizer = (normalizer) => {
  if (typeof normalizer !== "function") return false
  const callable = /** @type {CallableNormalizer} */ (normalizer)
  if (callable.config?.["type"] !== "BertNormalizer") return false
  const clean = Boolean(callable.config["clean_text"])
  const lowercase = Boolean(callable.config["lowercase"])
  const library = callable.normalize.bind(callable)
  callable.normalize = (text) => {
    if (!SIMPLE_TEXT.test(text)) return library(text)
    const cleaned = clean ? text.replace(BREAKS, " ") : text
    return lowercase ? cleaned.toLowerCase() : cleaned
  }
  return true
}

const SURROGATE = /[\ud800-\udfff]/

/**
 * UTF-16 offsets of the code points of `word` as the string iterator splits it (a lone surrogate
 * is one code point), with `word.length` last; `undefined` when every code point is one unit.
 *
 * @param {string} word
 * @returns {Array<number> | undefined}
 */
const codePointOffsets = (word) => {
  if (!SURROGATE.test(word)) return undefined
  /** @type {Array<number>} */
  const offsets = []
  let i = 0
  for (const c of word) {
    offsets.push(i)
    i += c.length
  }
  offsets.push(i)
  return offsets
}

/**
 * Longest entry of `ids`, in code points.
 *
 * @param {Map<string, number>} ids
 */
const longestEntry = (ids) => {
  let longest = 0
  for (const key of ids.keys()) {
    const length = SURROGATE.test(key) ? [...key].length : key.length
    if (length > longest) longest = length
  }
  return longest
}

/**
 * A shortcut through the `WordPiece` model. The library tries every candidate piece from the
 * longest (the rest of the word) down, building each from an array of characters: a word of up
 * to `max_input_chars_per_word` (100) characters costs thousands of array copies and lookups, so
 * 8 KB of such words took 0.6 s. No candidate longer than the longest vocabulary entry can match,
 * so this version starts at that length and takes substrings of the word: the same pieces, in the
 * same order, the same `[UNK]` for an unknown or over-long word. Install it after the tokenizer is
 * built (its added tokens are part of the vocabulary by then).
 *
 * @since 0.1.0
 * @category fast paths
 * @param {unknown} model the tokenizer's `model` property
 * @returns {boolean} whether the shortcut was installed
 */
export const shortcutWordPiece = (model) => {
  if (typeof model !== "function") return false
  const wordPiece = /** @type {WordPieceModel} */ (/** @type {unknown} */ (model))
  if (wordPiece.config?.["type"] !== "WordPiece" || !(wordPiece.tokens_to_ids instanceof Map)) return false
  const ids = wordPiece.tokens_to_ids
  const longest = longestEntry(ids)
  const prefix = String(wordPiece.config["continuing_subword_prefix"])
  /**
   * The pieces of one word, or `undefined` when a part of it matches no entry.
   *
   * @param {string} word
   * @param {Array<number> | undefined} offsets
   * @param {number} n code points in `word`
   */
  const pieces = (word, offsets, n) => {
    /** @type {Array<string>} */
    const out = []
    let start = 0
    while (start < n) {
      let end = Math.min(n, start + longest)
      let found
      for (; end > start; end--) {
        const piece = offsets === undefined ? word.slice(start, end) : word.slice(offsets[start], offsets[end])
        const candidate = start > 0 ? prefix + piece : piece
        if (ids.has(candidate)) {
          found = candidate
          break
        }
      }
      if (found === undefined) return undefined
      out.push(found)
      start = end
    }
    return out
  }
  wordPiece.encode = (tokens) => {
    /** @type {Array<string | undefined>} */
    const out = []
    for (const word of tokens) {
      const offsets = codePointOffsets(word)
      const n = offsets === undefined ? word.length : offsets.length - 1
      const found = n > wordPiece.max_input_chars_per_word ? undefined : pieces(word, offsets, n)
      if (found === undefined) out.push(wordPiece.unk_token)
      else for (const piece of found) out.push(piece)
    }
    return out
  }
  return true
}
