/**
 * What TEI's routes need from the tokenizer: tokens with offsets (`/tokenize`), decoding
 * (`/decode`), left truncation, token-id inputs and prompts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { InputTooLong, TokenizationFailed } from "../../src/model/ModelError.js"
import * as ModelTokenizer from "../../src/model/tokenizer/ModelTokenizer.js"
import { tokenizerJson, vocabulary } from "./fixtures.js"

const vocab = vocabulary()
const id = (token: string) => vocab.indexOf(token)
const CLS = id("[CLS]")
const SEP = id("[SEP]")

const load = () => Result.getOrThrow(ModelTokenizer.fromJson(tokenizerJson(), {}, "tokenizer.json"))

const utf8 = (s: string) => Buffer.from(s, "utf8")

describe("tokens with offsets", () => {
  it("gives ids, the original text of each token, UTF-8 byte offsets, and special tokens without offsets", () => {
    const tokenizer = load()
    const text = "Héllo, the Tokens…"
    const tokens = tokenizer.details(text, true)
    assert.deepStrictEqual(tokens[0], { id: CLS, text: "[CLS]", special: true, start: null, stop: null })
    assert.deepStrictEqual(tokens.at(-1), { id: SEP, text: "[SEP]", special: true, start: null, stop: null })
    const inner = tokens.slice(1, -1)
    // every token's text is the slice of the UTF-8 bytes its offsets name
    for (const t of inner) {
      assert.isFalse(t.special)
      assert.strictEqual(utf8(text).subarray(t.start!, t.stop!).toString("utf8"), t.text)
    }
    assert.deepStrictEqual(inner.map((t) => t.id), tokenizer.encodeWith(text, false))
    // "héllo" is lowercased and stripped of its accent, then split into pieces of the original
    assert.strictEqual(inner.map((t) => t.text).join(""), "Héllo,theTokens…")
    assert.deepStrictEqual(inner.find((t) => t.text === "the"), {
      id: id("the"),
      text: "the",
      special: false,
      start: 8,
      stop: 11
    })
    // "…" is not in the vocabulary: an unknown token that still covers its character
    assert.deepStrictEqual(inner.at(-1)!.text, "…")
    assert.strictEqual(inner.at(-1)!.id, id("[UNK]"))
  })

  it("without special tokens there is no [CLS] / [SEP]", () => {
    const tokens = load().details("hello world", false)
    assert.deepStrictEqual(tokens.map((t) => [t.text, t.start, t.stop]), [["hello", 0, 5], ["world", 6, 11]])
  })

  it("property: offsets are increasing, within the text, and each token's text is its slice", () => {
    const tokenizer = load()
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        const bytes = utf8(text)
        let last = 0
        for (const t of tokenizer.details(text, true)) {
          if (t.special) continue
          if (t.start! < last || t.stop! < t.start! || t.stop! > bytes.length) return false
          if (bytes.subarray(t.start!, t.stop!).toString("utf8") !== t.text) return false
          last = t.start!
        }
        return true
      }),
      { numRuns: 300 }
    )
  })

  it.effect("the prompt is part of the text the offsets point into", () =>
    Effect.gen(function*() {
      const [tokens] = yield* ModelTokenizer.tokens(load(), ["the dog"], { addSpecialTokens: false, prompt: "query: " })
      assert.deepStrictEqual(tokens!.map((t) => t.text), ["query", ":", "the", "dog"])
      assert.deepStrictEqual(tokens!.at(-1)!.start, 11)
    }))

  it("the built-in tokenizer reports its pieces with offsets and cannot decode word ids", () => {
    const tokens = ModelTokenizer.builtin.details("Héllo, world", true)
    assert.deepStrictEqual(tokens.map((t) => t.text), ["[CLS]", "Héllo", ",", "world", "[SEP]"])
    assert.deepStrictEqual(tokens.slice(1, -1).map((t) => [t.start, t.stop]), [[0, 6], [6, 7], [8, 13]])
    assert.deepStrictEqual(tokens.map((t) => t.id), ModelTokenizer.builtin.encode("Héllo, world"))
    assert.throws(() => ModelTokenizer.builtin.decode([101, 5000, 102], true), /cannot decode/)
  })
})

describe("decode", () => {
  it.effect("gives the text back, with or without the special tokens", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const ids = Array.from(tokenizer.encode("the quick dog"))
      const [skipped] = yield* ModelTokenizer.decode(tokenizer, [ids], true)
      assert.strictEqual(skipped, "the quick dog")
      const [kept] = yield* ModelTokenizer.decode(tokenizer, [ids], false)
      assert.strictEqual(kept, "[CLS] the quick dog [SEP]")
      const error = yield* Effect.flip(ModelTokenizer.decode(tokenizer, [ids, [vocab.length + 5]], true))
      assert.instanceOf(error, TokenizationFailed)
      assert.strictEqual(error.index, 1)
      assert.match(error.reason, /not in the vocabulary/)
    }))
})

describe("truncation direction, token ids and prompts", () => {
  const long = "the quick brown fox jumps over the lazy dog"

  it.effect("left truncation keeps the end of the text and the special tokens around it", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const [right, left] = yield* Effect.all([
        ModelTokenizer.tokenize(tokenizer, 5, [long], { truncate: true }),
        ModelTokenizer.tokenize(tokenizer, 5, [long], { truncate: true, direction: "left" })
      ])
      assert.deepStrictEqual([...right[0]!.ids], [CLS, id("the"), id("quick"), id("brown"), SEP])
      assert.deepStrictEqual([...left[0]!.ids], [CLS, id("the"), id("lazy"), id("dog"), SEP])
      assert.isTrue(left[0]!.truncated)
    }))

  it("left truncation of a very long text reads only its end and matches the full tokenization", () => {
    const tokenizer = load()
    const text = `${"a ".repeat(20_000)}${long}`
    const fast = Result.getOrThrow(ModelTokenizer.encodeOne(tokenizer, text, 0, 8, true, "left"))
    const all = Array.from(tokenizer.encode(text))
    assert.deepStrictEqual([...fast.ids], [CLS, ...all.slice(-7, -1), SEP])
    const refused = ModelTokenizer.encodeOne(tokenizer, text, 0, 8, false, "left")
    assert.isTrue(Result.isFailure(refused) && refused.failure instanceof InputTooLong && refused.failure.atLeast)
  })

  it.effect("token ids are used as given, checked against the vocabulary, and cut plainly", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const ids = [CLS, id("hello"), id("world"), SEP]
      const [same] = yield* ModelTokenizer.tokenize(tokenizer, 16, [ids], { truncate: false })
      assert.deepStrictEqual([...same!.ids], ids)
      const [cutRight] = yield* ModelTokenizer.tokenize(tokenizer, 3, [ids], { truncate: true })
      assert.deepStrictEqual([...cutRight!.ids], ids.slice(0, 3))
      const [cutLeft] = yield* ModelTokenizer.tokenize(tokenizer, 3, [ids], { truncate: true, direction: "left" })
      assert.deepStrictEqual([...cutLeft!.ids], ids.slice(1))
      const tooLong = yield* Effect.flip(ModelTokenizer.tokenize(tokenizer, 3, ["a", ids], { truncate: false }))
      assert.instanceOf(tooLong, InputTooLong)
      assert.strictEqual(tooLong.index, 1)
      const unknown = yield* Effect.flip(ModelTokenizer.tokenize(tokenizer, 16, [[CLS, 1e6]], { truncate: false }))
      assert.instanceOf(unknown, TokenizationFailed)
    }))

  it.effect("a prompt goes before texts, and before the decoded text of token ids", () =>
    Effect.gen(function*() {
      const tokenizer = load()
      const prompt = "query: "
      const [fromText, fromIds, plain] = yield* ModelTokenizer.tokenize(
        tokenizer,
        64,
        ["hello world", [CLS, id("hello"), id("world"), SEP]],
        { truncate: false, prompt }
      ).pipe(
        Effect.map((
          e
        ) => [
          ...e,
          ...Effect.runSync(ModelTokenizer.tokenize(tokenizer, 64, ["query: hello world"], { truncate: false }))
        ])
      )
      assert.deepStrictEqual([...fromText!.ids], [...plain!.ids])
      assert.deepStrictEqual([...fromIds!.ids], [...plain!.ids])
    }))
})
