/**
 * Shapes of the BERT encoders that adabatch generates itself: `MiniLmL6Spec` (shaped exactly like
 * sentence-transformers/all-MiniLM-L6-v2) and `TinySpec` (same graph, small dimensions, for fast
 * tests).
 *
 * @since 0.1.0
 */

/**
 * Everything the graph builder needs to know about a BERT encoder.
 *
 * @since 0.1.0
 * @category models
 */
export interface BertSpec {
  /** The model id written to `adabatch.json`, e.g. `"adabatch/minilm-l6-random"`. */
  readonly id: string
  /** Token vocabulary size (rows of the word embedding table). */
  readonly vocabSize: number
  /** Hidden size, which is also the embedding dimension. */
  readonly hiddenSize: number
  /** Number of encoder layers. */
  readonly numLayers: number
  /** Attention heads per layer; `hiddenSize` must be a multiple of it. */
  readonly numHeads: number
  /** Width of the feed-forward block. */
  readonly intermediateSize: number
  /** Rows of the position embedding table: the longest input the graph accepts. */
  readonly maxPositions: number
  /** Rows of the token type embedding table. */
  readonly typeVocabSize: number
  /** Epsilon of every LayerNormalization. */
  readonly layerNormEps: number
  /** Standard deviation of the N(0, σ²) weights and embeddings (biases are N(0, σ²) too). */
  readonly initializerRange: number
  /** Base seed; every tensor derives its own seed from it and the tensor's name. */
  readonly seed: number
}

/**
 * all-MiniLM-L6-v2's shape: vocabulary 30522, hidden 384, 6 layers, 12 heads of 32, FFN 1536,
 * 512 positions, 2 token types, LayerNorm epsilon 1e-12. 22,565,376 float32 parameters
 * (86.1 MiB).
 *
 * @since 0.1.0
 * @category models
 */
export const MiniLmL6Spec: BertSpec = {
  id: "adabatch/minilm-l6-random",
  vocabSize: 30522,
  hiddenSize: 384,
  numLayers: 6,
  numHeads: 12,
  intermediateSize: 1536,
  maxPositions: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  initializerRange: 0.02,
  seed: 20240601
}

/**
 * A tiny encoder with the same graph and the same 30522-token vocabulary: hidden 32, 2 layers,
 * 4 heads of 8, FFN 64, 128 positions. 998,016 float32 parameters (3.8 MiB), almost all of them
 * in the word embedding table.
 *
 * @since 0.1.0
 * @category models
 */
export const TinySpec: BertSpec = {
  id: "adabatch/tiny-random",
  vocabSize: 30522,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  maxPositions: 128,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  initializerRange: 0.02,
  seed: 20240602
}

/**
 * Number of float32 parameters of a spec's graph (embeddings, encoder layers; no pooler).
 *
 * @since 0.1.0
 * @category models
 */
export const parameterCount = (spec: BertSpec): number => {
  const h = spec.hiddenSize
  const embeddings = (spec.vocabSize + spec.maxPositions + spec.typeVocabSize) * h + 2 * h
  const attention = 4 * (h * h + h) + 2 * h
  const feedForward = h * spec.intermediateSize + spec.intermediateSize + spec.intermediateSize * h + h + 2 * h
  return embeddings + spec.numLayers * (attention + feedForward)
}

/**
 * Checks that a spec describes a buildable graph and returns a description of the first problem,
 * or `undefined` when it is valid.
 *
 * @since 0.1.0
 * @category models
 */
export const validateSpec = (spec: BertSpec): string | undefined => {
  const positive: ReadonlyArray<keyof BertSpec> = [
    "vocabSize",
    "hiddenSize",
    "numLayers",
    "numHeads",
    "intermediateSize",
    "maxPositions",
    "typeVocabSize"
  ]
  for (const key of positive) {
    const value = spec[key]
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      return `${key} must be a positive integer, got ${String(value)}`
    }
  }
  if (spec.hiddenSize % spec.numHeads !== 0) {
    return `hiddenSize ${spec.hiddenSize} is not a multiple of numHeads ${spec.numHeads}`
  }
  if (!(spec.layerNormEps > 0)) return `layerNormEps must be positive, got ${spec.layerNormEps}`
  if (!(spec.initializerRange > 0)) return `initializerRange must be positive, got ${spec.initializerRange}`
  return undefined
}
