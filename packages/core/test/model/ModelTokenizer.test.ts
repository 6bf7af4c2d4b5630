import { assert, describe, it } from "@effect/vitest"
import { Tokenizer } from "@huggingface/tokenizers"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { InputTooLong, ModelLoadError } from "../../src/model/ModelError.js"
import * as ModelTokenizer from "../../src/model/tokenizer/ModelTokenizer.js"
import { tokenizerJson, vocabulary } from "./fixtures.js"

const vocab = vocabulary()
const CLS = vocab.indexOf("[CLS]")
const SEP = vocab.indexOf("[SEP]")
const PAD = vocab.indexOf("[PAD]")

const load = () => Result.getOrThrow(ModelTokenizer.fromJson(tokenizerJson(), {}, "tokenizer.json"))

describe("ModelTokenizer (tokenizer.json)", () => {
  it("finds the special tokens, the pad id and the largest id", () => {
    const tokenizer = load()
    assert.strictEqual(tokenizer.kind, "huggingface")
    assert.strictEqual(tokenizer.specialSuffix, 1)
    assert.strictEqual(tokenizer.padId, PAD)
    assert.strictEqual(tokenizer.maxId, vocab.length - 1)
    assert.deepStrictEqual(tokenizer.probeIds, [CLS, vocab.length - 1, SEP])
    assert.strictEqual(tokenizer.truncationMaxLength, undefined)
    const withTruncation = ModelTokenizer.fromJson(tokenizerJson({ truncationMaxLength: 128 }), {}, "t.json")
    assert.strictEqual(Result.getOrThrow(withTruncation).truncationMaxLength, 128)
  })

  it.effect("encodes with [CLS] ... [SEP]; an empty text is just the special tokens", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const [hello, empty] = yield* ModelTokenizer.tokenize(tokenizer, 512, ["Hello World", ""], { truncate: false })
      assert.deepStrictEqual(Array.from(hello!.ids), [CLS, vocab.indexOf("hello"), vocab.indexOf("world"), SEP])
      assert.isFalse(hello!.truncated)
      assert.deepStrictEqual(Array.from(empty!.ids), [CLS, SEP])
    }))

  it.effect("truncation keeps the first tokens and re-appends [SEP]", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const text = "the quick brown fox jumps over the lazy dog"
      const full = Array.from(tokenizer.encode(text))
      assert.strictEqual(full.length, 11)
      const [cut] = yield* ModelTokenizer.tokenize(tokenizer, 6, [text], { truncate: true })
      assert.deepStrictEqual(Array.from(cut!.ids), [...full.slice(0, 5), SEP])
      assert.isTrue(cut!.truncated)
      // Exactly at the limit: untouched.
      const [exact] = yield* ModelTokenizer.tokenize(tokenizer, 11, [text], { truncate: true })
      assert.deepStrictEqual(Array.from(exact!.ids), full)
      assert.isFalse(exact!.truncated)
    }))

  it.effect("fails with InputTooLong (index, tokens, maxLength) without truncate", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      // up to 4 characters per allowed token: tokenized whole, so the count is exact
      const error = yield* Effect.flip(
        ModelTokenizer.tokenize(tokenizer, 10, ["short", "the quick brown fox jumps over the lazy dog"], {
          truncate: false
        })
      )
      assert.instanceOf(error, InputTooLong)
      assert.deepStrictEqual({ index: error.index, tokens: error.tokens, maxLength: error.maxLength }, {
        index: 1,
        tokens: 11,
        maxLength: 10
      })
      assert.match(error.message, /input 1 has 11 tokens, more than the model's maximum of 10/)
    }))

  it("rejects a tokenizer.json it cannot build", () => {
    const broken = { ...tokenizerJson(), model: { type: "NoSuchModel" } }
    const result = ModelTokenizer.fromJson(broken, {}, "/x/tokenizer.json")
    assert.isTrue(Result.isFailure(result))
    const error = Result.isFailure(result) ? result.failure : undefined
    assert.instanceOf(error, ModelLoadError)
    assert.strictEqual(error!.path, "/x/tokenizer.json")
    const badSettings = ModelTokenizer.fromJson({ ...tokenizerJson(), truncation: { max_length: "x" } }, {}, "t")
    assert.isTrue(Result.isFailure(badSettings))
  })
})

describe("the BertNormalizer shortcut for plain ASCII texts", () => {
  const variants = [
    { clean_text: true, lowercase: true },
    { clean_text: false, lowercase: true },
    { clean_text: true, lowercase: false },
    { clean_text: false, lowercase: false }
  ]
  const jsonWith = (flags: { readonly clean_text: boolean; readonly lowercase: boolean }) => {
    const json = tokenizerJson()
    return { ...json, normalizer: { ...json.normalizer, ...flags } }
  }
  // plain ASCII with tabs and line breaks (the shortcut), and anything else (the library's way)
  const texts = fc.oneof(
    fc.string({ unit: fc.constantFrom(..."Hello World the QUICK fox, jumps! 42 ?\t\n\r\r\n  ".split("")) }),
    fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) }),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: "binary" })
  )

  for (const flags of variants) {
    it(`gives the library's ids for any text (clean_text ${flags.clean_text}, lowercase ${flags.lowercase})`, () => {
      const json = jsonWith(flags)
      const library = new Tokenizer(json, {})
      const tokenizer = Result.getOrThrow(ModelTokenizer.fromJson(json, {}, "tokenizer.json"))
      fc.assert(
        fc.property(texts, (text) => {
          assert.deepStrictEqual(Array.from(tokenizer.encode(text)), Array.from(library.encode(text).ids), text)
        }),
        { numRuns: 2_000 }
      )
    })
  }

  it("skips the library's character-by-character pass for plain ASCII only", () => {
    const tokenizer = load()
    const prototype = Object.getPrototypeOf(
      (new Tokenizer(tokenizerJson(), {}) as unknown as { readonly normalizer: object }).normalizer
    ) as { clean_text: (text: string) => string }
    const original = prototype.clean_text
    let calls = 0
    prototype.clean_text = function(this: unknown, text: string) {
      calls++
      return original.call(this, text)
    }
    try {
      tokenizer.encode("Plain ASCII,\ttabs\r\nand line breaks.")
      assert.strictEqual(calls, 0)
      tokenizer.encode("Café au lait")
      assert.strictEqual(calls, 1)
    } finally {
      prototype.clean_text = original
    }
  })
})

describe("ModelTokenizer.builtin", () => {
  it.effect("hashes words deterministically, case-insensitively, with a cost that grows with the text", () =>
    Effect.gen(function*() {
      const t = ModelTokenizer.builtin
      const [a, b, c, empty, long] = yield* ModelTokenizer.tokenize(
        t,
        512,
        ["Hello, world!", "hello, WORLD!", "hello there", "", "x".repeat(80)],
        { truncate: false }
      )
      assert.deepStrictEqual(Array.from(a!.ids), Array.from(b!.ids))
      assert.strictEqual(a!.ids.length, 6) // [CLS] hello , world ! [SEP]
      assert.strictEqual(a!.ids[1], c!.ids[1])
      assert.notStrictEqual(a!.ids[3], c!.ids[2])
      assert.deepStrictEqual(Array.from(empty!.ids), [101, 102])
      assert.strictEqual(long!.ids.length, 2 + 10) // 80 characters in pieces of 8
      for (const id of a!.ids) assert.isTrue(id >= 0 && id <= t.maxId)
    }))

  it.effect("truncates and rejects like the real tokenizer", () =>
    Effect.gen(function*() {
      const text = "one two three four five six seven"
      const [cut] = yield* ModelTokenizer.tokenize(ModelTokenizer.builtin, 4, [text], { truncate: true })
      assert.strictEqual(cut!.ids.length, 4)
      assert.strictEqual(cut!.ids[0], 101)
      assert.strictEqual(cut!.ids[3], 102)
      const error = yield* Effect.flip(ModelTokenizer.tokenize(ModelTokenizer.builtin, 4, [text], { truncate: false }))
      assert.strictEqual(error._tag, "InputTooLong")
    }))
})

describe("very long texts (tokenized by a prefix first)", () => {
  const words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world"]
  const longText = (n: number) => Array.from({ length: n }, (_, i) => words[(i * 7) % words.length]).join(" ")
  const spy = (tokenizer: ModelTokenizer.ModelTokenizer) => {
    const lengths: Array<number> = []
    return {
      lengths,
      tokenizer: { ...tokenizer, encode: (text: string) => (lengths.push(text.length), tokenizer.encode(text)) }
    }
  }
  for (const [name, base] of [["tokenizer.json", load()], ["builtin", ModelTokenizer.builtin]] as const) {
    it(`${name}: truncating gives the same ids as tokenizing all of it, from prefixes only`, () => {
      const text = longText(100_000) // ~500 KB
      const { lengths, tokenizer } = spy(base)
      const encoded = Result.getOrThrow(ModelTokenizer.encodeOne(tokenizer, text, 0, 128, true))
      const full = Array.from(base.encode(text))
      assert.deepStrictEqual(Array.from(encoded.ids), [...full.slice(0, 127), full[full.length - 1]])
      assert.isTrue(encoded.truncated)
      // two windows: 129 characters, then what their density of tokens predicts
      assert.isAtMost(lengths.length, 2)
      assert.isAtMost(lengths.reduce((a, b) => a + b, 0), 129 * 10)
    })

    it(`${name}: too long without truncation is refused from a prefix, as "at least" so many tokens`, () => {
      const { lengths, tokenizer } = spy(base)
      const r = ModelTokenizer.encodeOne(tokenizer, longText(100_000), 3, 128, false)
      assert.isTrue(Result.isFailure(r))
      const e = (r as Result.Failure<never, unknown>).failure as InputTooLong
      assert.instanceOf(e, InputTooLong)
      assert.isTrue(e.atLeast)
      assert.isAbove(e.tokens, 128)
      assert.match(e.message, /^input 3 has at least \d+ tokens, more than the model's maximum of 128; send truncate/)
      assert.isAtMost(lengths.reduce((a, b) => a + b, 0), 129 * 10)
    })

    it(`${name}: a text of one token per character is decided by its first 129 characters`, () => {
      const { lengths, tokenizer } = spy(base)
      const r = ModelTokenizer.encodeOne(tokenizer, "!".repeat(2_000_000), 0, 128, false)
      assert.isTrue(Result.isFailure(r))
      assert.deepStrictEqual(lengths, [129])
    })

    it(`${name}: a long text the prefixes cannot decide is tokenized whole`, () => {
      // mostly whitespace: every prefix gives a handful of tokens, and so does the whole text
      const spaced = "hello" + " ".repeat(100_000) + "world"
      const { lengths, tokenizer } = spy(base)
      const ok = Result.getOrThrow(ModelTokenizer.encodeOne(tokenizer, spaced, 0, 128, false))
      assert.deepStrictEqual(Array.from(ok.ids), Array.from(base.encode("hello world")))
      assert.strictEqual(lengths[lengths.length - 1], spaced.length)
    })
  }
})
