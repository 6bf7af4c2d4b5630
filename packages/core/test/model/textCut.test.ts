/**
 * Cutting long texts before tokenizing them must never change an id. Checked against the real
 * `@huggingface/tokenizers` on random texts built from the characters that could break a cut:
 * Greek sigmas next to final-sigma context (`ΑΣ.Α`), combining marks, control characters the
 * normaliser drops (`\v`, U+FEFF, U+200B), other whitespace, CJK, surrogate pairs and lone
 * surrogates, added tokens (`[MASK]`), for every BertNormalizer setting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Tokenizer } from "@huggingface/tokenizers"
import { Result } from "effect"
import * as fc from "fast-check"
import * as ModelTokenizer from "../../src/model/tokenizer/ModelTokenizer.js"
import { encodeText } from "../../src/model/tokenizer/textCut.mjs"
import type { TextOutcome } from "../../src/model/tokenizer/TokenizerProtocol.js"
import { tokenizerJson } from "./fixtures.js"

/** Vocabulary entries that make a wrong cut visible (a different lowercase sigma is a different id). */
const EXTRA = [
  "σ",
  "ς",
  "α",
  "##σ",
  "##ς",
  "##α",
  "ασ",
  "ας",
  "中",
  "国",
  "é",
  "##é",
  "e",
  "##e",
  "i",
  "##i",
  "ß",
  "😀",
  "##😀",
  "a.b",
  "hello world",
  "!!"
]

type Flags = {
  readonly clean_text: boolean
  readonly handle_chinese_chars: boolean
  readonly lowercase: boolean
  readonly strip_accents: boolean | null
}

const jsonWith = (
  normalizer: Flags | null,
  extraAdded: ReadonlyArray<{ content: string; normalized: boolean }> = []
) => {
  const base = tokenizerJson()
  const vocab: Record<string, number> = { ...base.model.vocab }
  let next = Object.keys(vocab).length
  for (const token of EXTRA) if (!(token in vocab)) vocab[token] = next++
  const added: Array<Omit<(typeof base.added_tokens)[number], "content"> & { readonly content: string }> = [
    ...base.added_tokens
  ]
  for (const token of extraAdded) {
    vocab[token.content] = next
    added.push({ ...added[0]!, id: next++, content: token.content, normalized: token.normalized, special: false })
  }
  return {
    ...base,
    added_tokens: added,
    normalizer: normalizer === null ? null : { type: "BertNormalizer", ...normalizer },
    model: { ...base.model, vocab }
  }
}

const variants: ReadonlyArray<readonly [string, ReturnType<typeof jsonWith>]> = [
  ["BERT defaults", jsonWith({ clean_text: true, handle_chinese_chars: true, lowercase: true, strip_accents: null })],
  ["no lowercase", jsonWith({ clean_text: true, handle_chinese_chars: true, lowercase: false, strip_accents: null })],
  [
    "no clean_text, no CJK spacing",
    jsonWith({ clean_text: false, handle_chinese_chars: false, lowercase: true, strip_accents: false })
  ],
  [
    "strip accents only",
    jsonWith({ clean_text: true, handle_chinese_chars: true, lowercase: false, strip_accents: true })
  ],
  ["no normalizer", jsonWith(null)],
  [
    "added tokens: normalised, with a space and with punctuation",
    jsonWith({ clean_text: true, handle_chinese_chars: true, lowercase: true, strip_accents: null }, [
      { content: "hello world", normalized: true },
      { content: "a.b", normalized: false },
      { content: "!!", normalized: true }
    ])
  ]
]

/** Pieces of text; every string here is one draw. */
const PIECES = [
  ..."aAbBzZ019",
  ..."ΣσςαΑ",
  "aΣ",
  "ΑΣ",
  ..."'.:^`!,?-;()[]_",
  " ",
  "\t",
  "\n",
  "\r",
  "\v",
  "\f",
  "\u00a0",
  "\u2028",
  "\u3000",
  "\ufeff",
  "\u200b",
  "\u0085",
  "\u0000",
  "\ufffd",
  "\u0301",
  "\u0327",
  "\u0308",
  "é",
  "É",
  "İ",
  "ß",
  "ﬁ",
  "中",
  "国",
  "\uf900",
  "😀",
  "\ud800",
  "\udc00",
  "[CLS]",
  "[MASK]",
  "[SEP",
  "hello",
  "world",
  "hello world",
  "Hello World",
  "a.b"
]

const texts = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((parts) => parts.join(""))

/** Ids without the special tokens after the text. */
const body = (ids: ArrayLike<number>, suffix: number) => Array.from(ids).slice(0, ids.length - suffix)

describe("cut rules (every cut they allow keeps the first ids)", () => {
  for (const [name, json] of variants) {
    it(`tokenizer.json, ${name}`, () => {
      const library = new Tokenizer(json, {})
      const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(json, {}, "tokenizer.json"))
      const findCut = tokenizer.findCut!
      assert.isDefined(findCut)
      let cuts = 0
      fc.assert(
        fc.property(texts, (text) => {
          const whole = body(library.encode(text).ids, tokenizer.specialSuffix)
          for (let p = 1; p < text.length; p++) {
            if (findCut(text, p) !== p) continue
            cuts++
            const prefix = body(library.encode(text.slice(0, p)).ids, tokenizer.specialSuffix)
            assert.deepStrictEqual(whole.slice(0, prefix.length), prefix, `cut at ${p} of ${JSON.stringify(text)}`)
          }
        }),
        { numRuns: 1_500 }
      )
      assert.isAbove(cuts, 300)
    })
  }

  it("the built-in word hasher", () => {
    const tokenizer = ModelTokenizer.builtin
    fc.assert(
      fc.property(texts, fc.integer({ min: 1, max: 8 }), (text, repeat) => {
        const long = text.repeat(repeat)
        const whole = body(tokenizer.encode(long), 1)
        for (let w = 1; w < long.length; w++) {
          const p = tokenizer.findCut!(long, w)
          if (p === undefined) continue
          assert.isAtMost(p, w)
          assert.isAbove(p, w >> 1)
          const prefix = body(tokenizer.encode(long.slice(0, p)), 1)
          assert.deepStrictEqual(whole.slice(0, prefix.length), prefix, `cut at ${p} of ${JSON.stringify(long)}`)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("no cut rule for pipelines it cannot reason about", () => {
    const base = tokenizerJson()
    const cases = [
      { ...base, normalizer: { type: "Lowercase" } },
      { ...base, pre_tokenizer: { type: "Whitespace" } },
      { ...base, model: { ...base.model, fuse_unk: true } }
    ]
    for (const json of cases) {
      const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(json, {}, "tokenizer.json"))
      assert.isUndefined(tokenizer.findCut, JSON.stringify(json.normalizer))
    }
  })
})

describe("squeeze (shortening over-long runs inside one word keeps every id)", () => {
  const runs = [50, 99, 100, 101, 102, 103, 150].flatMap((n) => ["a".repeat(n), "😀".repeat(n), "Z1".repeat(n >> 1)])
  const withRuns = fc
    .array(fc.oneof(fc.constantFrom(...PIECES), fc.constantFrom(...runs, "🏻".repeat(120), "ab😀".repeat(40))), {
      maxLength: 12
    })
    .map((parts) => parts.join(""))
  for (const [name, json] of variants) {
    it(`tokenizer.json, ${name}`, () => {
      const library = new Tokenizer(json, {})
      const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(json, {}, "tokenizer.json"))
      if (name.startsWith("added tokens")) {
        // "a.b" starts with a letter: a run could hold the start of one
        assert.isUndefined(tokenizer.squeeze)
        return
      }
      const squeeze = tokenizer.squeeze!
      // a skin-tone modifier is cased-ignorable: the final sigma after it reads back through the run,
      // to the "a" a squeeze would drop, so runs of them are not shortened
      const sigma = "1".repeat(100) + "a" + "🏻".repeat(120) + ".Σ"
      assert.deepStrictEqual(library.encode(squeeze(sigma)).ids, library.encode(sigma).ids)
      let shortened = 0
      fc.assert(
        fc.property(withRuns, (text) => {
          const short = squeeze(text)
          if (short.length < text.length) shortened++
          assert.deepStrictEqual(library.encode(short).ids, library.encode(text).ids, JSON.stringify(text))
        }),
        { numRuns: 300 }
      )
      assert.isAbove(shortened, 60)
    })
  }
})

/** What tokenizing the whole text and then applying the limit gives. */
const reference = (library: Tokenizer, text: string, maxLength: number, truncate: boolean, suffix: number) => {
  const ids = library.encode(text).ids
  if (ids.length <= maxLength) return { type: "encoded", ids, truncated: false } as const
  if (!truncate) return { type: "too-long", tokens: ids.length } as const
  return {
    type: "encoded",
    ids: [...ids.slice(0, maxLength - suffix), ...ids.slice(ids.length - suffix)],
    truncated: true
  } as const
}

const sameAsReference = (outcome: TextOutcome, expected: ReturnType<typeof reference>, text: string) => {
  const what = JSON.stringify(text)
  if (expected.type === "encoded") {
    assert.strictEqual(outcome.type, "encoded", what)
    if (outcome.type !== "encoded") return
    assert.deepStrictEqual(Array.from(outcome.ids), expected.ids, what)
    assert.strictEqual(outcome.truncated, expected.truncated, what)
    return
  }
  assert.strictEqual(outcome.type, "too-long", what)
  if (outcome.type !== "too-long") return
  // from a prefix: a lower bound, itself over the maximum
  if (outcome.atLeast) assert.isAtMost(outcome.tokens, expected.tokens, what)
  else assert.strictEqual(outcome.tokens, expected.tokens, what)
}

describe("encodeText: the same answer as tokenizing the whole text", () => {
  const longTexts = fc.array(fc.constantFrom(...PIECES), { minLength: 20, maxLength: 200 }).map((p) => p.join(""))
  for (const [name, json] of variants.slice(0, 2)) {
    it(`tokenizer.json, ${name}; and a budget only decides where, never what`, () => {
      const library = new Tokenizer(json, {})
      const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(json, {}, "tokenizer.json"))
      let fromPrefix = 0
      let deferred = 0
      fc.assert(
        fc.property(
          longTexts,
          fc.integer({ min: 3, max: 24 }),
          fc.boolean(),
          fc.integer({ min: 0, max: 600 }),
          (text, maxLength, truncate, budgetChars) => {
            const expected = reference(library, text, maxLength, truncate, tokenizer.specialSuffix)
            const outcome = encodeText(tokenizer, text, maxLength, truncate, { left: Infinity })!
            sameAsReference(outcome, expected, text)
            if (outcome.type === "too-long" && outcome.atLeast) fromPrefix++
            const budget = { left: budgetChars }
            const limited = encodeText(tokenizer, text, maxLength, truncate, budget)
            assert.isAtLeast(budget.left, 0)
            if (limited === undefined) deferred++
            else assert.deepStrictEqual(limited, outcome)
          }
        ),
        { numRuns: 1_000 }
      )
      assert.isAbove(fromPrefix, 10)
      assert.isAbove(deferred, 10)
    })
  }
})
