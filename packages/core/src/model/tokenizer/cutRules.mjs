// @ts-check
/**
 * Where a text may be cut without changing its first ids (see `textCut.mjs`), for the two kinds of
 * tokenizer adabatch runs: a BERT-style `tokenizer.json` and the built-in word hasher.
 *
 * Plain JavaScript, like `worker.mjs`, so that the tokenization worker threads can import it.
 *
 * @since 0.1.0
 */

/** @typedef {import("./TokenizerProtocol.js").FindCut} FindCut */

/**
 * The last safe cut in `(window / 2, window]`: the last index whose character is flagged in
 * `boundaries` (a table of the BMP code units). A surrogate is never flagged, so a cut never splits
 * a surrogate pair.
 *
 * @param {Uint8Array} boundaries
 * @returns {FindCut}
 */
const scanner = (boundaries) => (text, window) => {
  const from = window >> 1
  for (let p = Math.min(window, text.length - 1); p > from; p--) {
    if (boundaries[text.charCodeAt(p)] === 1) return p
  }
  return undefined
}

/**
 * @typedef {object} AddedToken
 * @property {string} content
 * @property {boolean} normalized
 */

/**
 * The parts of a built `@huggingface/tokenizers` `Tokenizer` the BERT rule reads.
 *
 * @typedef {object} BuiltTokenizer
 * @property {ReadonlyArray<AddedToken>} added_tokens
 * @property {((text: string) => string) | null} normalizer
 * @property {{ fuse_unk?: boolean, max_input_chars_per_word?: number }} model
 */

/** `{ type }` of a pipeline stage in `tokenizer.json`, or `null`. */
const typeOf = (/** @type {unknown} */ stage) =>
  typeof stage === "object" && stage !== null ? /** @type {{ type?: unknown }} */ (stage).type : null

/**
 * Whether the post-processor puts fixed special tokens around the text's tokens (the text once).
 *
 * @param {unknown} post
 */
const wrapsOnce = (post) => {
  const type = typeOf(post)
  if (type === null || type === "BertProcessing" || type === "RobertaProcessing") return true
  if (type !== "TemplateProcessing") return false
  const single = /** @type {{ single?: unknown }} */ (post).single
  return Array.isArray(single) &&
    single.filter((item) => typeof item === "object" && item !== null && "Sequence" in item).length === 1
}

/**
 * Every UTF-16 unit of the added tokens, as written and as normalised: a cut before one of these
 * could split an added token.
 *
 * @param {BuiltTokenizer} hf
 */
const addedTokenUnits = (hf) => {
  /** @type {Set<number>} */
  const units = new Set()
  /** @type {Array<string>} */
  const forms = []
  for (const token of hf.added_tokens) {
    forms.push(token.content)
    if (hf.normalizer !== null) forms.push(hf.normalizer(token.content))
  }
  for (const form of forms) for (let i = 0; i < form.length; i++) units.add(form.charCodeAt(i))
  return { units, forms }
}

const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/
/** Characters `toLowerCase` reads for Greek final sigma: a cut before one could change a `Σ` before it. */
const CASE_CONTEXT = /[\p{Cased}\p{Case_Ignorable}]/u

/**
 * The safe cuts of a BERT-style `tokenizer.json`: `BertNormalizer` (any flags) or none,
 * `BertPreTokenizer`, a `WordPiece` model without `fuse_unk`, and a post-processor that only puts
 * special tokens around the text. `undefined` for any other pipeline (long texts are then
 * tokenized whole).
 *
 * A cut before character `b` is safe when `b` is a space, tab, line feed or carriage return, an
 * ASCII punctuation mark, or (when CJK characters are spaced out) a CJK ideograph: the
 * pre-tokenizer ends a word there, and the normaliser maps each of them to itself (or a space)
 * whatever surrounds it, so nothing from `b` on can change how the characters before it are
 * normalised, split or looked up. Excluded:
 * - the characters `toLowerCase` reads as context for a final sigma (`'`, `.`, `:`, `^`,
 *   `` ` ``): in `ΑΣ.Α` the `Σ` lowercases to `σ`, in `ΑΣ` to `ς`;
 * - other whitespace: `\v`, `\f` and U+FEFF are control characters the normaliser drops (`a\vb`
 *   is one word);
 * - any unit of an added token, as written or normalised (a cut could split `[MASK]`), and
 *   whitespace and CJK altogether when an added token contains whitespace.
 *
 * @since 0.1.0
 * @category cutting
 * @param {Record<string, unknown>} json the `tokenizer.json` document
 * @param {BuiltTokenizer} hf the tokenizer built from it
 * @returns {FindCut | undefined}
 */
export const bertFindCut = (json, hf) => {
  const normalizer = /** @type {Record<string, unknown> | null} */ (json["normalizer"] ?? null)
  if (normalizer !== null && typeOf(normalizer) !== "BertNormalizer") return undefined
  if (typeOf(json["pre_tokenizer"]) !== "BertPreTokenizer") return undefined
  if (typeOf(json["model"]) !== "WordPiece" || hf.model.fuse_unk === true) return undefined
  if (!wrapsOnce(json["post_processor"] ?? null)) return undefined
  const { forms, units: added } = addedTokenUnits(hf)
  // a space inside an added token could match across a cut before whitespace or a spaced-out CJK character
  const spaced = forms.some((form) => /\s/.test(form))
  const cjk = !spaced && normalizer !== null && normalizer["handle_chinese_chars"] === true
  const boundaries = new Uint8Array(0x10000)
  for (let c = 0; c < 0x80; c++) {
    const char = String.fromCharCode(c)
    const boundary = (!spaced && " \t\n\r".includes(char)) ||
      (ASCII_PUNCTUATION.test(char) && !CASE_CONTEXT.test(char))
    if (boundary && !added.has(c)) boundaries[c] = 1
  }
  if (cjk) {
    /** @type {ReadonlyArray<readonly [number, number]>} */
    const ideographs = [[0x3400, 0x4dbf], [0x4e00, 0x9fff]]
    for (const [from, to] of ideographs) {
      for (let c = from; c <= to; c++) if (!added.has(c)) boundaries[c] = 1
    }
  }
  return scanner(boundaries)
}

const FIRST_EMOJI = 0x1f300
const LAST_EMOJI = 0x1faff

/**
 * The "plain" code points: ASCII letters and digits, and the emoji (`So`) of U+1F300 to U+1FAFF.
 * Each is one code point that every BERT normalisation step keeps as one word character
 * (lowercasing maps a letter to one letter), and none is cased-ignorable, so the final-sigma rule
 * reads no further than it.
 */
const plainTables = () => {
  const ascii = new Uint8Array(128)
  for (let c = 0; c < 128; c++) if (/[0-9A-Za-z]/.test(String.fromCharCode(c))) ascii[c] = 1
  const emoji = new Uint8Array(LAST_EMOJI - FIRST_EMOJI + 1)
  for (let cp = FIRST_EMOJI; cp <= LAST_EMOJI; cp++) {
    if (/^\p{So}$/u.test(String.fromCodePoint(cp))) emoji[cp - FIRST_EMOJI] = 1
  }
  return { ascii, emoji }
}

/**
 * Shortens, in a BERT-style pipeline (the same pipelines as {@link bertFindCut}), every run of more
 * than `max_input_chars_per_word + 1` plain code points (ASCII letters and digits, emoji) to its
 * first `max_input_chars_per_word` code points and its last: the word around the run is longer
 * than WordPiece takes either way, so it is one `[UNK]` either way, and every other word is
 * untouched. 1.9 MB of emoji is one word: shortened, it costs the tokenizer 101 characters.
 *
 * Only when no added token starts with a plain code point or is as long as the part kept (no
 * added token can then start inside the run or span it). `undefined` for any other pipeline.
 *
 * @since 0.1.0
 * @category cutting
 * @param {Record<string, unknown>} json the `tokenizer.json` document
 * @param {BuiltTokenizer} hf the tokenizer built from it
 * @returns {((text: string) => string) | undefined}
 */
export const bertSqueeze = (json, hf) => {
  if (bertFindCut(json, hf) === undefined) return undefined
  const keep = (hf.model.max_input_chars_per_word ?? 100) + 1
  const { ascii, emoji } = plainTables()
  /** Units of the plain code point at `i` (0: not plain). */
  const plainAt = (/** @type {string} */ text, /** @type {number} */ i) => {
    const c = text.charCodeAt(i)
    if (c < 128) return ascii[c] ?? 0
    if (c < 0xd83c || c > 0xd83e) return 0
    const low = text.charCodeAt(i + 1)
    if (!(low >= 0xdc00 && low <= 0xdfff)) return 0
    const cp = ((c - 0xd800) << 10) + low - 0xdc00 + 0x10000
    return cp <= LAST_EMOJI && cp >= FIRST_EMOJI && emoji[cp - FIRST_EMOJI] === 1 ? 2 : 0
  }
  const { forms } = addedTokenUnits(hf)
  if (forms.some((form) => plainAt(form, 0) > 0 || form.length >= keep - 1)) return undefined
  return (text) => {
    /** @type {Array<string>} */
    const parts = []
    let copied = 0
    let points = 0
    let headEnd = 0
    let lastStart = 0
    const flush = (/** @type {number} */ end) => {
      if (points > keep) {
        parts.push(text.slice(copied, headEnd), text.slice(lastStart, end))
        copied = end
      }
      points = 0
    }
    for (let i = 0; i < text.length;) {
      const c = text.charCodeAt(i)
      const width = c < 128 ? ascii[c] ?? 0 : plainAt(text, i)
      if (width === 0) {
        flush(i)
        i++
        continue
      }
      if (++points === keep - 1) headEnd = i + width
      lastStart = i
      i += width
    }
    flush(text.length)
    if (parts.length === 0) return text
    parts.push(text.slice(copied))
    return parts.join("")
  }
}

/** Word characters of the built-in word hasher: ASCII letters and digits, and any unit above 127. */
const isWordUnit = (/** @type {number} */ c) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127

/**
 * The safe cuts of the built-in word hasher (`tokenizerCore.builtin`): before any character that is
 * not a word character (it ends the word, or is a token of its own), or inside a word after a whole
 * number of its 8-unit pieces.
 *
 * @since 0.1.0
 * @category cutting
 * @param {number} piece units per word piece
 * @returns {FindCut}
 */
export const builtinFindCut = (piece) => (text, window) => {
  if (!isWordUnit(text.charCodeAt(window))) return window
  // inside a word: cut after its last whole piece (at its start, when it has none yet)
  let start = window
  while (start > 0 && isWordUnit(text.charCodeAt(start - 1))) start--
  const cut = window - ((window - start) % piece)
  return cut > window >> 1 ? cut : undefined
}
