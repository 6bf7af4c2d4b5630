/**
 * A small built-in tokenizer (no file needed), used by the `echo` model without a directory:
 * `[CLS]` + one id per word piece + `[SEP]`. Words are lowercased and hashed (FNV-1a) into a
 * BERT-sized vocabulary, cut into pieces of 8 characters; each punctuation character is a token.
 * Its cost grows with the text like a real tokenizer's. Its ids are hashes, so it cannot decode.
 *
 * @since 0.1.0
 */
import type { Token } from "../EmbeddingModel.js"
import type { ModelTokenizer } from "./ModelTokenizer.js"
import { builtin as core } from "./tokenizerCore.mjs"

const CLS = 101
const SEP = 102
const FIRST_WORD_ID = 1000
const VOCAB = 30522
const PIECE = 8

const isWordChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code > 127

const isSpace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13) || code === 160

const wordId = (hash: number): number => FIRST_WORD_ID + ((hash >>> 0) % (VOCAB - FIRST_WORD_ID))

/** Calls `piece(id, start, end)` for every word piece and punctuation character of `text`. */
const scan = (text: string, piece: (id: number, start: number, end: number) => void): void => {
  let hash = 0x811c9dc5
  let length = 0
  let start = 0
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 32
    if (isWordChar(code)) {
      if (length === 0) start = i
      hash = Math.imul(hash ^ (code >= 65 && code <= 90 ? code + 32 : code), 0x01000193)
      if (++length === PIECE) {
        piece(wordId(hash), start, i + 1)
        hash = 0x811c9dc5
        length = 0
      }
      continue
    }
    if (length > 0) {
      piece(wordId(hash), start, i)
      hash = 0x811c9dc5
      length = 0
    }
    if (!isSpace(code)) piece(wordId(Math.imul(0x811c9dc5 ^ code, 0x01000193)), i, i + 1)
  }
}

const encodeWith = (text: string, addSpecialTokens: boolean): Array<number> => {
  const ids: Array<number> = addSpecialTokens ? [CLS] : []
  scan(text, (id) => ids.push(id))
  if (addSpecialTokens) ids.push(SEP)
  return ids
}

const utf8Length = (text: string): number => Buffer.byteLength(text, "utf8")

const details = (text: string, addSpecialTokens: boolean): Array<Token> => {
  const out: Array<Token> = addSpecialTokens ? [{ id: CLS, text: "[CLS]", special: true, start: null, stop: null }] : []
  scan(text, (id, start, end) => {
    const from = utf8Length(text.slice(0, start))
    out.push({
      id,
      text: text.slice(start, end),
      special: false,
      start: from,
      stop: from + utf8Length(text.slice(start, end))
    })
  })
  if (addSpecialTokens) out.push({ id: SEP, text: "[SEP]", special: true, start: null, stop: null })
  return out
}

/**
 * The built-in word-hash tokenizer: `tokenizerCore.mjs`'s (also used by the tokenization
 * workers, with its safe cuts), with token details and decoding.
 *
 * @since 0.1.0
 * @category constructors
 */
export const builtin: ModelTokenizer = {
  ...core,
  encodeWith,
  details,
  decode: (ids, skipSpecialTokens) => {
    const kept = ids.filter((id) => !(skipSpecialTokens && (id === CLS || id === SEP)))
    if (kept.every((id) => id === CLS || id === SEP)) {
      return kept.map((id) => (id === CLS ? "[CLS]" : "[SEP]")).join(" ")
    }
    throw new Error(
      "the built-in word-hash tokenizer cannot decode token ids (its ids are hashes of words); " +
        "serve a model directory with a tokenizer.json"
    )
  }
}
