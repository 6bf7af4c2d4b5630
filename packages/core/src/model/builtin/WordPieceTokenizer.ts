/**
 * Generates a BERT-style uncased WordPiece tokenizer (Hugging Face `tokenizer.json` format) from a
 * frequency-ordered English word list, so the built-in model needs no downloaded vocabulary.
 *
 * Vocabulary layout (30522 entries by default, like bert-base-uncased):
 *
 * | ids | entries |
 * |---|---|
 * | 0 | `[PAD]` |
 * | 1-99 | `[unused0]` … `[unused98]` |
 * | 100-103 | `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` |
 * | 104-998 | `[unused99]` … `[unused993]` |
 * | 999- | single characters (ASCII, Latin-1 symbols, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, kana, common CJK, typographic punctuation), already normalised |
 * | … | whole words, most frequent first, then 20 contraction stems (`isn`, `don`, `ll`, …), the numbers 10-100 and the years 1800-2030 |
 * | … | learned `##` continuation pieces, then `##00`-`##99`, then `##` + every single character |
 *
 * The `##` pieces are learned from the words just below the whole-word cut-off (Zipf-weighted,
 * weight 1/rank): in each of a few rounds every such word is tokenized greedily (longest match
 * first, as WordPiece does at run time), the weights of adjacent continuation-piece pairs are
 * summed, and the heaviest merged pairs become new `##` pieces. Ties are broken by string order,
 * so the vocabulary is a pure function of the word list.
 *
 * Realism, measured with `@huggingface/tokenizers` 0.2.0 on `englishSentences` (8,711 words;
 * tokens without `[CLS]`/`[SEP]`, divided by whitespace-separated words, so punctuation counts as
 * tokens): this tokenizer gives **1.166** tokens per word (10,161 tokens), bert-base-uncased's own
 * tokenizer **1.168** (10,171 tokens) on the same texts; on short queries alone 1.132 against
 * 1.148. Counting alphabetic words only: 1.033 against 1.036. Neither produces `[UNK]` there.
 * Rare words (ranks 100,000-150,000 of the word list, one by one): 2.663 pieces per word against
 * bert-base-uncased's 2.645.
 *
 * The word source is the `popular-english-words` package (ISC licence): about 225,000 lowercase
 * words parsed from English Wikipedia, ordered by frequency. It is loaded lazily, only when a
 * tokenizer is generated.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { ModelLoadError } from "../ModelError.js"

/**
 * The special tokens and their ids, as in bert-base-uncased.
 *
 * @since 0.1.0
 * @category constants
 */
export const SpecialTokens = {
  pad: { token: "[PAD]", id: 0 },
  unk: { token: "[UNK]", id: 100 },
  cls: { token: "[CLS]", id: 101 },
  sep: { token: "[SEP]", id: 102 },
  mask: { token: "[MASK]", id: 103 }
} as const

/** Reserved ids: [PAD], [unused*], [UNK], [CLS], [SEP], [MASK]: 0..998. */
const RESERVED = 999

/**
 * Options of {@link makeWordPieceVocabulary}.
 *
 * @since 0.1.0
 * @category models
 */
export interface VocabularyOptions {
  /** Total number of entries. Default 30522. */
  readonly size?: number
  /** Number of learned multi-character `##` pieces. Default 4900. */
  readonly learnedPieces?: number
  /** Rank (in the word list) below which words are no longer used to learn pieces. Default 60000. */
  readonly learningHorizon?: number
  /** Number of learning rounds. Default 5. */
  readonly rounds?: number
}

/** Lowercase + NFD + drop combining marks: what BertNormalizer (lowercase, strip accents) does. */
const normalizeLikeBert = (text: string): string => text.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "")

const CJK_COMMON = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对" +
  "可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民" +
  "样现分将外但身些与高意进把法此实回二理美点月明其信间"

/**
 * The single characters of the vocabulary, in code point order (CJK last), each one unchanged by
 * BERT normalisation.
 *
 * @since 0.1.0
 * @category models
 */
export const vocabularyCharacters = (): ReadonlyArray<string> => {
  const ranges: ReadonlyArray<readonly [number, number]> = [
    [0x21, 0x40], // ASCII punctuation and digits
    [0x5b, 0x7e], // ASCII punctuation and lowercase letters
    [0xa1, 0xbf], // Latin-1 symbols
    [0xd7, 0xd7], // ×
    [0xdf, 0xdf], // ß
    [0xe6, 0xe6], // æ
    [0xf0, 0xf0], // ð
    [0xf7, 0xf8], // ÷ ø
    [0xfe, 0xfe], // þ
    [0x3b1, 0x3c9], // Greek
    [0x430, 0x44f], // Cyrillic
    [0x5d0, 0x5ea], // Hebrew
    [0x621, 0x64a], // Arabic
    [0x905, 0x939], // Devanagari
    [0xe01, 0xe2e], // Thai
    [0x2013, 0x2014], // – —
    [0x2018, 0x2019], // ‘ ’
    [0x201c, 0x201d], // “ ”
    [0x2022, 0x2022], // •
    [0x2026, 0x2026], // …
    [0x20ac, 0x20ac], // €
    [0x2122, 0x2122], // ™
    [0x2190, 0x2193], // arrows
    [0x3041, 0x3096], // Hiragana
    [0x30a1, 0x30fa] // Katakana
  ]
  const candidates: Array<string> = []
  for (const [from, to] of ranges) {
    for (let cp = from; cp <= to; cp++) candidates.push(String.fromCodePoint(cp))
  }
  candidates.push(...CJK_COMMON)
  const seen = new Set<string>()
  return candidates.filter((c) => {
    if (seen.has(c) || /[\s\p{C}]/u.test(c) || normalizeLikeBert(c) !== c) return false
    seen.add(c)
    return true
  })
}

const reservedTokens = (): Array<string> => {
  const tokens: Array<string> = [SpecialTokens.pad.token]
  let unused = 0
  while (tokens.length < SpecialTokens.unk.id) tokens.push(`[unused${unused++}]`)
  tokens.push(SpecialTokens.unk.token, SpecialTokens.cls.token, SpecialTokens.sep.token, SpecialTokens.mask.token)
  while (tokens.length < RESERVED) tokens.push(`[unused${unused++}]`)
  return tokens
}

/**
 * Stems of English contractions ("isn't" is pre-tokenized as `isn ' t`). The word list drops
 * apostrophes, so it ranks these stems too low or not at all; real traffic is full of them.
 */
const CONTRACTION_STEMS: ReadonlyArray<string> = [
  "isn",
  "aren",
  "wasn",
  "weren",
  "don",
  "doesn",
  "didn",
  "hasn",
  "haven",
  "hadn",
  "won",
  "wouldn",
  "couldn",
  "shouldn",
  "mustn",
  "needn",
  "ain",
  "ll",
  "ve",
  "re"
]

const numberTokens = (): Array<string> => {
  const out: Array<string> = []
  for (let n = 10; n <= 100; n++) out.push(String(n))
  for (let year = 1800; year <= 2030; year++) out.push(String(year))
  return out
}

const numberPieces = (): Array<string> => Array.from({ length: 100 }, (_, n) => `##${String(n).padStart(2, "0")}`)

/** Longest piece the learner tries while tokenizing (in UTF-16 units; the word list is ASCII). */
const MAX_PIECE = 24

/**
 * Greedy longest-match-first WordPiece split of one word, as the run-time tokenizer does it.
 * `continuations` holds the continuation pieces without their `##` prefix. Returns the pieces
 * (without prefix), or `undefined` when a character is unknown.
 */
const greedySplit = (
  word: string,
  starts: ReadonlySet<string>,
  continuations: ReadonlySet<string>
): Array<string> | undefined => {
  const pieces: Array<string> = []
  let start = 0
  while (start < word.length) {
    let end = Math.min(word.length, start + MAX_PIECE)
    let found: string | undefined
    for (; end > start; end--) {
      const piece = word.slice(start, end)
      if (start === 0 ? starts.has(piece) : continuations.has(piece)) {
        found = piece
        break
      }
    }
    if (found === undefined) return undefined
    pieces.push(found)
    start = end
  }
  return pieces
}

/**
 * Builds the vocabulary (token strings, index = id) from a word list ordered by frequency, most
 * frequent first. Words shorter than two characters, words that are not already normalised
 * (lowercase, no accents) and duplicates are skipped. Deterministic: the same list and options
 * always give the same vocabulary.
 *
 * Throws a `RangeError` when the list is too short to fill the requested size.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWordPieceVocabulary = (
  words: ReadonlyArray<string>,
  options: VocabularyOptions = {}
): Array<string> => {
  const size = options.size ?? 30522
  const learnedCount = options.learnedPieces ?? 4900
  const horizon = options.learningHorizon ?? 60000
  const rounds = Math.max(1, options.rounds ?? 5)

  const characters = vocabularyCharacters()
  const numbers = numberTokens()
  const fixedPieces = [...numberPieces(), ...characters.map((c) => `##${c}`)]
  const wordCount = size - RESERVED - characters.length - numbers.length - learnedCount - fixedPieces.length
  const listedWords = wordCount - CONTRACTION_STEMS.length
  if (listedWords <= 0) throw new RangeError(`vocabulary size ${size} leaves no room for whole words`)

  const reserved = new Set<string>([...characters, ...numbers, ...CONTRACTION_STEMS])
  const candidates: Array<string> = []
  const seen = new Set<string>()
  for (const word of words) {
    if (word.length < 2 || seen.has(word) || reserved.has(word) || normalizeLikeBert(word) !== word) continue
    if (/[\s\p{P}\p{S}\p{C}]/u.test(word)) continue
    seen.add(word)
    candidates.push(word)
    if (candidates.length >= horizon) break
  }
  if (candidates.length < listedWords) {
    throw new RangeError(`the word list has ${candidates.length} usable words, ${listedWords} are needed`)
  }
  const wholeWords = [...candidates.slice(0, listedWords), ...CONTRACTION_STEMS]
  const tail = candidates.slice(listedWords)

  const starts = new Set<string>([...characters, ...wholeWords, ...numbers])
  const continuations = new Set<string>(fixedPieces.map((piece) => piece.slice(2)))
  const learned: Array<string> = []
  const perRound = Math.ceil(learnedCount / rounds)
  while (learned.length < learnedCount) {
    const weights = new Map<string, number>()
    for (let i = 0; i < tail.length; i++) {
      const pieces = greedySplit(tail[i]!, starts, continuations)
      if (pieces === undefined) continue
      const weight = 1 / (listedWords + i + 1)
      for (let j = 1; j + 1 < pieces.length; j++) {
        const merged = pieces[j]! + pieces[j + 1]!
        weights.set(merged, (weights.get(merged) ?? 0) + weight)
      }
    }
    const best = [...weights.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, Math.min(perRound, learnedCount - learned.length))
    if (best.length === 0) break
    for (const [piece] of best) {
      continuations.add(piece)
      learned.push(`##${piece}`)
    }
  }

  // If the learner ran out of merges (tiny word lists), the next most frequent words fill the gap.
  const extraWords = tail.slice(0, learnedCount - learned.length)
  const vocabulary = [
    ...reservedTokens(),
    ...characters,
    ...wholeWords,
    ...extraWords,
    ...numbers,
    ...learned,
    ...fixedPieces
  ]
  if (vocabulary.length !== size) {
    throw new RangeError(`generated ${vocabulary.length} vocabulary entries instead of ${size}`)
  }
  return vocabulary
}

/**
 * A Hugging Face `tokenizer.json` document (the subset this generator writes).
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenizerJson {
  readonly version: "1.0"
  readonly truncation: null
  readonly padding: null
  readonly added_tokens: ReadonlyArray<{
    readonly id: number
    readonly content: string
    readonly single_word: boolean
    readonly lstrip: boolean
    readonly rstrip: boolean
    readonly normalized: boolean
    readonly special: boolean
  }>
  readonly normalizer: {
    readonly type: "BertNormalizer"
    readonly clean_text: boolean
    readonly handle_chinese_chars: boolean
    readonly strip_accents: null
    readonly lowercase: boolean
  }
  readonly pre_tokenizer: { readonly type: "BertPreTokenizer" }
  readonly post_processor: {
    readonly type: "TemplateProcessing"
    readonly single: ReadonlyArray<unknown>
    readonly pair: ReadonlyArray<unknown>
    readonly special_tokens: Readonly<
      Record<
        string,
        { readonly id: string; readonly ids: ReadonlyArray<number>; readonly tokens: ReadonlyArray<string> }
      >
    >
  }
  readonly decoder: { readonly type: "WordPiece"; readonly prefix: "##"; readonly cleanup: boolean }
  readonly model: {
    readonly type: "WordPiece"
    readonly unk_token: string
    readonly continuing_subword_prefix: "##"
    readonly max_input_chars_per_word: number
    readonly vocab: Readonly<Record<string, number>>
  }
}

/**
 * The `tokenizer.json` document for a vocabulary: BertNormalizer (clean text, split CJK
 * characters, lowercase, strip accents), BertPreTokenizer, WordPiece with `##` continuations and
 * `[UNK]`, TemplateProcessing `[CLS] $A [SEP]` (pairs: `[CLS] $A [SEP] $B:1 [SEP]:1`), WordPiece
 * decoder; no padding and no truncation (the model loader applies its own maximum length).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTokenizerJson = (vocabulary: ReadonlyArray<string>): TokenizerJson => {
  const check = (token: { readonly token: string; readonly id: number }) => {
    if (vocabulary[token.id] !== token.token) {
      throw new RangeError(`vocabulary id ${token.id} must be ${token.token}, found ${String(vocabulary[token.id])}`)
    }
  }
  const specials = [SpecialTokens.pad, SpecialTokens.unk, SpecialTokens.cls, SpecialTokens.sep, SpecialTokens.mask]
  specials.forEach(check)
  const vocab: Record<string, number> = {}
  vocabulary.forEach((token, id) => {
    if (Object.hasOwn(vocab, token)) throw new RangeError(`duplicate vocabulary entry ${JSON.stringify(token)}`)
    vocab[token] = id
  })
  const cls = SpecialTokens.cls
  const sep = SpecialTokens.sep
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ id, token }) => ({
      id,
      content: token,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: cls.token, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep.token, type_id: 0 } }
      ],
      pair: [
        { SpecialToken: { id: cls.token, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: sep.token, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: sep.token, type_id: 1 } }
      ],
      special_tokens: {
        [cls.token]: { id: cls.token, ids: [cls.id], tokens: [cls.token] },
        [sep.token]: { id: sep.token, ids: [sep.id], tokens: [sep.token] }
      }
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: SpecialTokens.unk.token,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab
    }
  }
}

/**
 * The `tokenizer_config.json` document that goes with the tokenizer (what `transformers` and
 * `@huggingface/tokenizers` read beside `tokenizer.json`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTokenizerConfig = (maxLength: number) => ({
  tokenizer_class: "BertTokenizer",
  do_lower_case: true,
  do_basic_tokenize: true,
  tokenize_chinese_chars: true,
  strip_accents: null,
  model_max_length: maxLength,
  clean_up_tokenization_spaces: true,
  pad_token: SpecialTokens.pad.token,
  unk_token: SpecialTokens.unk.token,
  cls_token: SpecialTokens.cls.token,
  sep_token: SpecialTokens.sep.token,
  mask_token: SpecialTokens.mask.token
})

const WORD_LIST_PACKAGE: string = "popular-english-words"

const wordListOf = (module: unknown): ReadonlyArray<string> => {
  const words = (module as { readonly words?: { readonly getAll?: unknown } } | null)?.words
  const list: unknown = typeof words?.getAll === "function" ? words.getAll() : undefined
  if (!Array.isArray(list) || list.length === 0 || !list.every((w) => typeof w === "string")) {
    throw new TypeError(`${WORD_LIST_PACKAGE} does not export words.getAll(): string[]`)
  }
  return list
}

/**
 * The English word list the built-in tokenizer is generated from (package `popular-english-words`,
 * about 225,000 words from English Wikipedia, most frequent first), loaded on first use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadEnglishWords: Effect.Effect<ReadonlyArray<string>, ModelLoadError> = Effect.tryPromise({
  // The package ships no typings: import it by a non-literal specifier and check its shape instead.
  try: () => import(WORD_LIST_PACKAGE).then((module: unknown) => wordListOf(module)),
  catch: (cause) =>
    new ModelLoadError({
      path: WORD_LIST_PACKAGE,
      reason: `cannot load the English word list the built-in tokenizer is generated from: ${String(cause)}`,
      cause
    })
})

/** The default-options tokenizer, kept once generated (it is a pure function of the word list). */
let defaultEnglishTokenizer: TokenizerJson | undefined

/**
 * Generates the built-in `tokenizer.json` document: {@link makeWordPieceVocabulary} over
 * {@link loadEnglishWords}, then {@link makeTokenizerJson}. With default options the result is
 * computed once per process and reused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEnglishTokenizer = (options?: VocabularyOptions): Effect.Effect<TokenizerJson, ModelLoadError> =>
  Effect.suspend(() => {
    if (options === undefined && defaultEnglishTokenizer !== undefined) return Effect.succeed(defaultEnglishTokenizer)
    return Effect.map(loadEnglishWords, (words) => {
      const tokenizer = makeTokenizerJson(makeWordPieceVocabulary(words, options))
      if (options === undefined) defaultEnglishTokenizer = tokenizer
      return tokenizer
    })
  })
