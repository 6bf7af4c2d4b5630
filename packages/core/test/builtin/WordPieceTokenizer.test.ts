import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  englishSentences,
  loadEnglishWords,
  makeTokenizerConfig,
  makeTokenizerJson,
  makeWordPieceVocabulary,
  SpecialTokens,
  type TokenizerJson,
  vocabularyCharacters
} from "../../src/model/builtin/index.js"
import { type HfTokenizer, makeTokenizer } from "./helpers.js"

const wordsOf = (text: string) => text.split(/\s+/).filter((w) => w !== "")

describe("englishSentences", () => {
  it("holds 272 distinct texts of varied length", () => {
    assert.strictEqual(englishSentences.length, 272)
    assert.strictEqual(new Set(englishSentences).size, englishSentences.length)
    const lengths = englishSentences.map((t) => wordsOf(t).length)
    assert.isAtMost(Math.min(...lengths), 3)
    assert.isAtLeast(lengths.filter((n) => n <= 10).length, 40)
    assert.isAtLeast(lengths.filter((n) => n >= 100).length, 30)
    assert.isAtLeast(lengths.filter((n) => n >= 300).length, 8)
  })
})

describe("the generated WordPiece tokenizer", () => {
  let words: ReadonlyArray<string>
  let vocabulary: Array<string>
  let json: TokenizerJson
  let tokenizer: HfTokenizer

  beforeAll(async () => {
    words = await Effect.runPromise(loadEnglishWords)
    vocabulary = makeWordPieceVocabulary(words)
    json = makeTokenizerJson(vocabulary)
    // Round-trip through JSON text, as it is read from tokenizer.json.
    tokenizer = makeTokenizer(JSON.parse(JSON.stringify(json)), makeTokenizerConfig(512))
  })

  it("is laid out like bert-base-uncased's vocabulary", () => {
    assert.strictEqual(vocabulary.length, 30522)
    assert.strictEqual(new Set(vocabulary).size, 30522)
    for (const special of Object.values(SpecialTokens)) assert.strictEqual(vocabulary[special.id], special.token)
    assert.strictEqual(vocabulary[1], "[unused0]")
    assert.strictEqual(vocabulary[99], "[unused98]")
    assert.strictEqual(vocabulary[104], "[unused99]")
    assert.strictEqual(vocabulary[998], "[unused993]")
    const characters = vocabularyCharacters()
    assert.deepStrictEqual(vocabulary.slice(999, 999 + characters.length), [...characters])
    assert.strictEqual(vocabulary[999], "!")
    // whole words follow the characters, most frequent first
    assert.deepStrictEqual(vocabulary.slice(999 + characters.length, 999 + characters.length + 3), ["the", "of", "in"])
    // ... and the vocabulary ends with "##" + every character
    assert.deepStrictEqual(vocabulary.slice(-characters.length), characters.map((c) => `##${c}`))
    const pieces = vocabulary.filter((t) => t.startsWith("##"))
    assert.isAtLeast(pieces.length, 5000)
    const firstPiece = vocabulary.findIndex((t) => t.startsWith("##"))
    assert.isTrue(vocabulary.slice(firstPiece).every((t) => t.startsWith("##")), "## pieces come last")
    assert.strictEqual(Object.keys(json.model.vocab).length, 30522)
  })

  it("is a pure function of the word list", () => {
    assert.deepStrictEqual(makeWordPieceVocabulary(words), vocabulary)
  })

  it("loads with @huggingface/tokenizers and encodes [CLS] text [SEP]", () => {
    const encoded = tokenizer.encode("The quick brown fox jumps over the lazy dog.")
    assert.deepStrictEqual(encoded.tokens, [
      "[CLS]",
      "the",
      "quick",
      "brown",
      "fox",
      "jumps",
      "over",
      "the",
      "lazy",
      "dog",
      ".",
      "[SEP]"
    ])
    assert.strictEqual(encoded.ids[0], SpecialTokens.cls.id)
    assert.strictEqual(encoded.ids.at(-1), SpecialTokens.sep.id)
    assert.strictEqual(
      tokenizer.decode(encoded.ids, { skip_special_tokens: true }),
      "the quick brown fox jumps over the lazy dog."
    )
  })

  it("lowercases, strips accents, splits punctuation and CJK characters, and uses ## continuations", () => {
    assert.deepStrictEqual(tokenizer.tokenize("Café RÉSUMÉ"), tokenizer.tokenize("cafe resume"))
    assert.deepStrictEqual(tokenizer.tokenize("well-known, isn't it?"), [
      "well",
      "-",
      "known",
      ",",
      "isn",
      "'",
      "t",
      "it",
      "?"
    ])
    assert.deepStrictEqual(tokenizer.tokenize("中国"), ["中", "国"])
    const rare = tokenizer.tokenize("electrocardiogram")
    assert.isAtLeast(rare.length, 2)
    assert.isFalse(rare[0]!.startsWith("##"))
    assert.isTrue(rare.slice(1).every((t) => t.startsWith("##")))
    assert.strictEqual(rare.map((t) => t.replace(/^##/, "")).join(""), "electrocardiogram")
    assert.deepStrictEqual(tokenizer.tokenize("in 1998 and 2024"), ["in", "1998", "and", "2024"])
    assert.deepStrictEqual(tokenizer.tokenize("\u{1F600}"), ["[UNK]"])
  })

  it("gives English text 1.1 to 1.6 tokens per word and no [UNK], and fits the long texts in 512 tokens", () => {
    let tokens = 0
    let wordCount = 0
    for (const text of englishSentences) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids
      assert.notInclude(ids, SpecialTokens.unk.id, text)
      assert.isAtMost(ids.length + 2, 512)
      tokens += ids.length
      wordCount += wordsOf(text).length
    }
    const ratio = tokens / wordCount
    assert.isAtLeast(ratio, 1.1)
    assert.isAtMost(ratio, 1.6)
  })

  it("refuses a word list too short to fill the vocabulary", () => {
    assert.throws(() => makeWordPieceVocabulary(words.slice(0, 1000)), /usable words/)
  })

  it("refuses a vocabulary without the special tokens in place", () => {
    assert.throws(() => makeTokenizerJson(vocabulary.slice(1)), /vocabulary id 0 must be \[PAD\]/)
  })
})
