/**
 * The inputs every system is fed, built once per run from an English corpus with the model's own
 * tokenizer, so that token counts are exact:
 *
 * - `short`: texts of about 16 tokens (special tokens included), cut from the corpus at word
 *   boundaries;
 * - `long`: texts of about 128 tokens, likewise;
 * - `mix`: the corpus sentences, queries and paragraphs as they are (a realistic mix of lengths).
 *
 * The texts are in a seeded random order so that consecutive requests differ.
 *
 * @since 0.1.0
 */
import * as Random from "@adabatch/testkit/Random"
import type { Effect } from "effect"

/**
 * Which input set.
 *
 * @since 0.1.0
 * @category models
 */
export type InputKind = "short" | "long" | "mix"

/**
 * All input kinds, in report order.
 *
 * @since 0.1.0
 * @category constants
 */
export const inputKinds: ReadonlyArray<InputKind> = ["short", "long", "mix"]

/**
 * A built input set: the texts, each one's token count, and its tokenized form.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputSet<T> {
  readonly kind: InputKind
  readonly texts: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<number>
  readonly encoded: ReadonlyArray<T>
  readonly meanTokens: number
  readonly minTokens: number
  readonly maxTokens: number
}

/**
 * Target token counts of the fixed-length sets.
 *
 * @since 0.1.0
 * @category constants
 */
export const targetTokens: Readonly<Record<"short" | "long", number>> = { short: 16, long: 128 }

/**
 * Builds an input set of `count` texts (the `mix` set has as many as the corpus, repeated in
 * shuffled order up to `count`). `tokenize` returns each text's token count and encoded form.
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = <T>(options: {
  readonly kind: InputKind
  readonly corpus: ReadonlyArray<string>
  readonly count: number
  readonly seed: number
  /** The model's maximum input length: the fixed-length targets are capped to it. */
  readonly maxLength?: number | undefined
  readonly tokenize: (texts: ReadonlyArray<string>) => ReadonlyArray<{ readonly tokens: number; readonly encoded: T }>
}): InputSet<T> => {
  const { corpus, count, kind, seed, tokenize } = options
  if (corpus.length === 0) throw new RangeError("the input corpus is empty")
  const rng = Random.make(seed)
  let texts: Array<string>
  if (kind === "mix") {
    texts = []
    while (texts.length < count) texts.push(...shuffle(corpus, rng))
    texts.length = count
  } else {
    const words = shuffle(corpus, rng).join(" ").split(/\s+/).filter((w) => w.length > 0)
    texts = cutToTokens(words, Math.min(targetTokens[kind], options.maxLength ?? Infinity), count, tokenize)
  }
  const encoded = tokenize(texts)
  const tokens = encoded.map((e) => e.tokens)
  return {
    kind,
    texts,
    tokens,
    encoded: encoded.map((e) => e.encoded),
    meanTokens: tokens.reduce((a, b) => a + b, 0) / Math.max(1, tokens.length),
    minTokens: Math.min(...tokens),
    maxTokens: Math.max(...tokens)
  }
}

const shuffle = <A>(items: ReadonlyArray<A>, rng: Random.Random): Array<A> => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

/**
 * Cuts `count` texts from the word stream, each with as many words as fit in `target` tokens
 * (binary search on the word count; the stream wraps around).
 */
const cutToTokens = <T>(
  words: ReadonlyArray<string>,
  target: number,
  count: number,
  tokenize: (texts: ReadonlyArray<string>) => ReadonlyArray<{ readonly tokens: number; readonly encoded: T }>
): Array<string> => {
  const out: Array<string> = []
  let pos = 0
  const take = (n: number) => {
    const ws: Array<string> = []
    for (let i = 0; i < n; i++) ws.push(words[(pos + i) % words.length]!)
    return ws.join(" ")
  }
  const tokensOf = (text: string) => tokenize([text])[0]!.tokens
  while (out.length < count) {
    let lo = 1
    let hi = Math.max(2, target)
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (tokensOf(take(mid)) <= target) lo = mid
      else hi = mid - 1
    }
    out.push(take(lo))
    pos = (pos + lo) % words.length
  }
  return out
}

/**
 * A `tokenize` for {@link build} from an effectful tokenizer returning `ids` per text. Texts are
 * tokenized one per call: a model tokenizes a short call synchronously (a long one may go to a
 * tokenization worker thread, which `runSync` cannot wait for).
 *
 * @since 0.1.0
 * @category constructors
 */
export const tokenizeWith = <T extends { readonly ids: ArrayLike<number> }>(
  runSync: <A>(effect: Effect.Effect<A, unknown>) => A,
  tokenize: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<T>, unknown>
) =>
(texts: ReadonlyArray<string>): ReadonlyArray<{ readonly tokens: number; readonly encoded: T }> =>
  texts.map((text) => {
    const encoded = runSync(tokenize([text]))[0]!
    return { tokens: encoded.ids.length, encoded }
  })
