/**
 * The WordPiece fast path gives the library's pieces for every word: the same greedy longest match
 * from the left, `##` continuations, `[UNK]` for a word with an unknown part or over
 * `max_input_chars_per_word` code points (astral characters and lone surrogates counted as the
 * library counts them).
 */
import { assert, describe, it } from "@effect/vitest"
import { Tokenizer } from "@huggingface/tokenizers"
import * as fc from "fast-check"
import { buildHuggingFace } from "../../src/model/tokenizer/tokenizerCore.mjs"
import { tokenizerJson } from "./fixtures.js"

const EXTRA = [
  "qu",
  "##qu",
  "ick",
  "##ick",
  "quick",
  "##ab",
  "##abc",
  "😀",
  "##😀",
  "😀a",
  "##a😀",
  "é",
  "##é",
  "\ud800",
  // long entries, with and without the continuation prefix; the longest is a whole word
  "abcabcabcabcabcabcabcabc",
  "##quickquickquick",
  "##😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
]

const json = () => {
  const base = tokenizerJson()
  const vocab: Record<string, number> = { ...base.model.vocab }
  let next = Object.keys(vocab).length
  for (const token of EXTRA) if (!(token in vocab)) vocab[token] = next++
  return { ...base, model: { ...base.model, vocab } }
}

type Model = (words: Array<string>) => Array<string | undefined>

const modelOf = (tokenizer: unknown): Model => (tokenizer as { readonly model: Model }).model

const words = fc.array(
  fc.array(
    fc.constantFrom(
      ..."abcquik",
      "😀",
      "é",
      "\ud800",
      "\udc00",
      "z",
      "ab",
      "abc",
      "quick",
      "😀😀😀😀",
      ...EXTRA.slice(-3).map((e) => e.replace("##", ""))
    ),
    { maxLength: 120 }
  ).map((cs) => cs.join("")),
  { maxLength: 6 }
)

describe("the WordPiece fast path", () => {
  it("gives the library's pieces for any words", () => {
    const library = modelOf(new Tokenizer(json(), {}))
    const fast = modelOf(buildHuggingFace(json(), {}))
    fc.assert(
      fc.property(words, (ws) => {
        assert.deepStrictEqual(fast([...ws]), library([...ws]), JSON.stringify(ws))
      }),
      { numRuns: 3_000 }
    )
  })

  it("gives the library's ids for any text, and is no longer quadratic in the word length", () => {
    const library = new Tokenizer(json(), {})
    const fast = buildHuggingFace(json(), {})
    fc.assert(
      fc.property(words, fc.constantFrom(" ", "!", "\t"), (ws, separator) => {
        const text = ws.join(separator)
        assert.deepStrictEqual(fast.encode(text).ids, library.encode(text).ids, JSON.stringify(text))
      }),
      { numRuns: 1_000 }
    )
    // the library tries every candidate from the rest of the word down: 5,050 lookups for 100 letters;
    // no entry of this vocabulary is longer than 24 code points
    const tried: Array<string> = []
    const spied = buildHuggingFace(json(), {}) as unknown as { model: { tokens_to_ids: Map<string, number> } }
    const ids = spied.model.tokens_to_ids
    const has = ids.has.bind(ids)
    ids.has = (key: string) => (tried.push(key), has(key))
    ;(spied as unknown as Tokenizer).encode("q".repeat(100))
    assert.isAtMost(tried.length, 100 * 24)
  })
})
