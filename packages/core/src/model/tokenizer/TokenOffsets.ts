/**
 * Where each token of a text came from: `@huggingface/tokenizers` gives ids and token strings but
 * no offsets, so they are found again by aligning the tokens with the normalised text.
 *
 * The text is normalised one character at a time with the tokenizer's own normaliser, keeping, for
 * every normalised code unit, the original character it came from. Each token's surface (the token
 * string without its continuation prefix, byte-level or metaspace markers) is then matched at the
 * cursor in the normalised text (whitespace skipped), and its span mapped back to the original.
 * A token that cannot be matched (`[UNK]`, or a piece of a multi-byte character) covers the text up
 * to the next whitespace or the next token's match. Offsets are UTF-8 byte offsets, as in TEI's
 * `/tokenize` (Rust `tokenizers` offsets).
 *
 * @since 0.1.0
 */
import type { Token } from "../EmbeddingModel.js"

/**
 * How a tokenizer spells its tokens, read from `tokenizer.json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spelling {
  /** Per-character normaliser (identity when the tokenizer has none). */
  readonly normalize: (text: string) => string
  /** The WordPiece continuation prefix (`##`), if the model is WordPiece. */
  readonly continuation: string | undefined
  /** Tokens are GPT-2 byte-level strings (`Ġhello`). */
  readonly byteLevel: boolean
  /** The metaspace replacement character (`▁`), if any. */
  readonly metaspace: string | undefined
}

/** GPT-2's byte-to-character table, inverted: a byte-level character to its byte. */
const byteLevelBytes: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>()
  let extra = 0
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
    map.set(String.fromCharCode(printable ? b : 256 + extra++), b)
  }
  return map
})()

const utf8 = new TextDecoder("utf-8", { fatal: false })

/**
 * The text a token stands for, without markers; may be empty.
 *
 * @since 0.1.0
 * @category alignment
 */
export const surface = (token: string, spelling: Spelling): string => {
  let s = token
  if (
    spelling.continuation !== undefined && s.length > spelling.continuation.length &&
    s.startsWith(spelling.continuation)
  ) {
    s = s.slice(spelling.continuation.length)
  }
  if (spelling.byteLevel) {
    const bytes: Array<number> = []
    for (const ch of s) bytes.push(byteLevelBytes.get(ch) ?? 63)
    s = utf8.decode(Uint8Array.from(bytes))
  }
  if (spelling.metaspace !== undefined) s = s.split(spelling.metaspace).join(" ")
  return s.trim()
}

const isWhitespace = (code: number): boolean => code === 32 || (code >= 9 && code <= 13) || code === 160

/** The normalised text, and for each of its code units the original span it came from. */
interface Normalized {
  readonly text: string
  readonly from: Array<number>
  readonly to: Array<number>
}

const normalizeMapped = (text: string, normalize: (text: string) => string): Normalized => {
  let out = ""
  const from: Array<number> = []
  const to: Array<number> = []
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i)!
    const width = cp > 0xffff ? 2 : 1
    const piece = normalize(text.slice(i, i + width))
    out += piece
    for (let k = 0; k < piece.length; k++) {
      from.push(i)
      to.push(i + width)
    }
    i += width
  }
  return { text: out, from, to }
}

/** UTF-8 byte offset of every UTF-16 index of `text` (one more entry than its length). */
const byteOffsets = (text: string): Uint32Array => {
  const out = new Uint32Array(text.length + 1)
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    out[i] = bytes
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff) bytes += 4 // a pair: its low half adds nothing
    else if (c >= 0xdc00 && c <= 0xdfff) bytes += 0
    else bytes += 3
  }
  out[text.length] = bytes
  return out
}

const skipSpace = (text: string, at: number): number => {
  let i = at
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++
  return i
}

/**
 * The tokens of `text` with their text and offsets. `ids`, `tokens` and `special` come from the
 * tokenizer, one entry per token. A special token has its own string as text and no offsets.
 *
 * @since 0.1.0
 * @category alignment
 */
export const align = (
  text: string,
  ids: ReadonlyArray<number>,
  tokens: ReadonlyArray<string>,
  special: ReadonlyArray<boolean>,
  spelling: Spelling
): Array<Token> => {
  const norm = normalizeMapped(text, spelling.normalize)
  const n = norm.text
  const bytes = byteOffsets(text)
  const surfaces = tokens.map((t, i) => (special[i] ? "" : surface(t, spelling)))
  const out: Array<Token> = []
  let cursor = 0
  for (let i = 0; i < ids.length; i++) {
    if (special[i]) {
      out.push({ id: ids[i]!, text: tokens[i]!, special: true, start: null, stop: null })
      continue
    }
    const start = skipSpace(n, cursor)
    const s = surfaces[i]!
    let end: number
    if (s.length > 0 && n.startsWith(s, start)) {
      end = start + s.length
    } else {
      // not found at the cursor: up to the next whitespace, or where the next token matches first
      end = start
      while (end < n.length && !isWhitespace(n.charCodeAt(end))) end++
      const next = surfaces.slice(i + 1).find((x) => x.length > 0)
      if (next !== undefined) {
        const at = n.indexOf(next, start + 1)
        if (at >= 0 && at < end) end = at
      }
      if (end === start && start < n.length) end = start + 1
    }
    cursor = end
    if (start >= n.length) {
      out.push({ id: ids[i]!, text: "", special: false, start: bytes[text.length]!, stop: bytes[text.length]! })
      continue
    }
    const from = norm.from[start]!
    const to = norm.to[end - 1]!
    out.push({ id: ids[i]!, text: text.slice(from, to), special: false, start: bytes[from]!, stop: bytes[to]! })
  }
  return out
}
