/**
 * Deterministic English inputs from the built-in corpus (the tiny model's tokenizer knows its
 * words), so every run sends the same texts.
 */
import { BuiltinModel } from "@adabatch/core"

const words: ReadonlyArray<string> = BuiltinModel.englishSentences.join(" ").split(/\s+/).filter((w) => w !== "")

/** Text `i`: `n` consecutive corpus words starting at a position derived from `i`. */
export const text = (i: number, n: number): string => {
  const start = (i * 7919) % (words.length - n)
  return words.slice(start, start + n).join(" ")
}

/** `count` texts of `n` words for request `i`. */
export const texts = (i: number, count: number, n: number): Array<string> =>
  Array.from({ length: count }, (_, k) => text(i * count + k, n))
