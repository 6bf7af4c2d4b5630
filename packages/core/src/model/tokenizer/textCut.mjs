// @ts-check
/**
 * Very long texts are tokenized by a prefix when that provably gives the same ids: truncation keeps
 * the first tokens, and a text whose prefix alone is over the maximum is over it too. A 2 MB text
 * of `!` (2 million tokens) then costs the tokenizer about a thousand characters instead of a
 * second of work.
 *
 * A cut at index `p` is safe when the ids of `text.slice(0, p)` are exactly the first ids of
 * `text`, special tokens aside: nothing at or after `p` can change how the characters before it
 * are tokenized. Which indices are safe depends on the tokenizer's pipeline, so each tokenizer
 * brings its own `FindCut` (or none: then long texts are tokenized whole, in a worker thread).
 *
 * Plain JavaScript, like `worker.mjs`, so that the tokenization worker threads can import it.
 *
 * @since 0.1.0
 */

/** @typedef {import("./TokenizerProtocol.js").FindCut} FindCut */
/** @typedef {import("./TokenizerProtocol.js").TextOutcome} TextOutcome */

/**
 * What {@link encodeText} needs of a tokenizer.
 *
 * @typedef {object} CuttableTokenizer
 * @property {(text: string) => ArrayLike<number>} encode ids of one text, special tokens included
 * @property {number} specialSuffix special tokens after the text
 * @property {FindCut | undefined} findCut where a long text may be cut, if anywhere
 * @property {((text: string) => string) | undefined} squeeze shortens a text without changing its ids
 */

/**
 * Characters the tokenizer may still be run on, shared by the texts of one call; on the main
 * thread it bounds how long one call holds the event loop.
 *
 * @typedef {{ left: number }} Budget
 */

/**
 * Texts up to this many characters per allowed token are tokenized whole (a refusal then gives
 * their exact length); longer ones by a prefix first, where the tokenizer can cut them.
 */
const WHOLE_PER_TOKEN = 4
/** Margin on the window a prefix's density of tokens predicts. */
const WINDOW_MARGIN = 1.25

const describe = (/** @type {unknown} */ error) => (error instanceof Error ? error.message : String(error))

/**
 * Applies the length limit to a text's `ids`: longer inputs are cut to `maxLength` keeping the
 * trailing special tokens (`[CLS] … [SEP]` stays well-formed), or refused.
 *
 * @param {ArrayLike<number>} ids
 * @param {number} specialSuffix
 * @param {number} maxLength
 * @param {boolean} truncate
 * @param {boolean} atLeast `ids` are those of a prefix of the text
 * @returns {TextOutcome}
 */
const limit = (ids, specialSuffix, maxLength, truncate, atLeast) => {
  const length = ids.length
  if (length <= maxLength) return { type: "encoded", ids: Int32Array.from(ids), truncated: false }
  if (!truncate) return { type: "too-long", tokens: length, atLeast }
  const out = new Int32Array(maxLength)
  const suffix = specialSuffix < maxLength ? specialSuffix : 0
  const head = maxLength - suffix
  for (let i = 0; i < head; i++) out[i] = ids[i] ?? 0
  for (let i = 0; i < suffix; i++) out[head + i] = ids[length - suffix + i] ?? 0
  return { type: "encoded", ids: out, truncated: true }
}

/**
 * The ids of a prefix of `text` that has more than `maxLength` tokens, or `undefined` when no
 * safe cut gives one before the end of the text (or the budget runs out first).
 *
 * In each window the tokenizer's `findCut` picks the last safe cut. The first window is
 * `maxLength + 1` characters: it decides a text of one token per character (`!!!…`, CJK). Each
 * next window is what the last prefix's density of tokens predicts, with a margin, and at least
 * twice the last: ordinary prose takes two windows.
 *
 * @param {CuttableTokenizer} tokenizer
 * @param {FindCut} findCut
 * @param {string} text
 * @param {number} maxLength
 * @param {Budget} budget
 */
const encodePrefix = (tokenizer, findCut, text, maxLength, budget) => {
  for (let window = maxLength + 1; window < text.length;) {
    // a cut in this window would be over the budget: spare the scan
    if (window >> 1 >= budget.left) return undefined
    const cut = findCut(text, window)
    if (cut === undefined) {
      window *= 2
      continue
    }
    if (cut > budget.left) return undefined
    budget.left -= cut
    const ids = tokenizer.encode(text.slice(0, cut))
    if (ids.length > maxLength) return ids
    window = Math.max(2 * window, Math.ceil((WINDOW_MARGIN * cut * (maxLength + 1)) / Math.max(1, ids.length)))
  }
  return undefined
}

/**
 * Tokenizes one text and applies the length limit: by a prefix when it is longer than 4
 * characters per allowed token and the tokenizer can cut it safely, else whole (squeezed first,
 * when the tokenizer can squeeze it). Returns `undefined` when doing so would take more than
 * `budget` characters of tokenizer work (the caller then tokenizes the text elsewhere, with a
 * larger budget).
 *
 * @since 0.1.0
 * @category tokenization
 * @param {CuttableTokenizer} tokenizer
 * @param {string} text
 * @param {number} maxLength
 * @param {boolean} truncate
 * @param {Budget} budget
 * @returns {TextOutcome | undefined}
 */
export const encodeText = (tokenizer, text, maxLength, truncate, budget) => {
  try {
    if (tokenizer.findCut !== undefined && text.length > WHOLE_PER_TOKEN * (maxLength + 1)) {
      const prefix = encodePrefix(tokenizer, tokenizer.findCut, text, maxLength, budget)
      if (prefix !== undefined) return limit(prefix, tokenizer.specialSuffix, maxLength, truncate, true)
    }
    if (text.length > budget.left) return undefined
    budget.left -= text.length
    const whole = tokenizer.squeeze === undefined ? text : tokenizer.squeeze(text)
    return limit(tokenizer.encode(whole), tokenizer.specialSuffix, maxLength, truncate, false)
  } catch (cause) {
    return { type: "failed", reason: describe(cause) }
  }
}

/**
 * Tokenizes `texts` in order, each with {@link encodeText}, until one fails or is too long (the
 * texts after it are not tokenized). A text over the budget is left `undefined` for the caller to
 * tokenize elsewhere; the texts after it still use what is left of the budget.
 *
 * @since 0.1.0
 * @category tokenization
 * @param {CuttableTokenizer} tokenizer
 * @param {ReadonlyArray<string>} texts
 * @param {number} maxLength
 * @param {boolean} truncate
 * @param {Budget} budget
 * @returns {Array<TextOutcome | undefined>} one entry per text tokenized or left over, up to the first refusal
 */
export const encodeTexts = (tokenizer, texts, maxLength, truncate, budget) => {
  /** @type {Array<TextOutcome | undefined>} */
  const out = []
  for (const text of texts) {
    const outcome = encodeText(tokenizer, text, maxLength, truncate, budget)
    out.push(outcome)
    if (outcome !== undefined && outcome.type !== "encoded") break
  }
  return out
}
