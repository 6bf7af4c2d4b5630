/**
 * Builds a BERT sentence-embedding encoder as an ONNX model (opset 17, IR 8), serialised with the
 * `onnx-proto` package, with seeded N(0, σ²) weights.
 *
 * Graph (names as a Hugging Face export of sentence-transformers would have them):
 *
 * - inputs `input_ids`, `attention_mask`, `token_type_ids`: int64 `[batch_size, sequence_length]`;
 * - embeddings: word + token type (Gather) + position (the first `sequence_length` rows of the
 *   position table, so position ids are implicit), then LayerNormalization;
 * - attention mask: `(1 - mask) * -3.4028234663852886e38` (float32 lowest) added to the attention
 *   scores, so padded positions get exactly zero weight and a padded row computes the same
 *   embedding as the unpadded one;
 * - `numLayers` post-LayerNorm encoder layers: multi-head self-attention (scores divided by
 *   √head_dim, Softmax on the last axis), residual + LayerNormalization, then a feed-forward block
 *   with the exact GELU `0.5·x·(1 + erf(x/√2))`, residual + LayerNormalization;
 * - outputs `last_hidden_state` float `[batch_size, sequence_length, hidden]` and
 *   `sentence_embedding` float `[batch_size, hidden]`: mean of the token states weighted by the
 *   attention mask (divided by the real token count, clamped to 1e-9), then L2-normalised
 *   (norm clamped to 1e-12), as sentence-transformers' Pooling + Normalize modules do.
 *
 * Weights are stored as float32 `raw_data` (little-endian). MatMul weights are laid out
 * `[in, out]` (the transpose of PyTorch's `Linear.weight`). LayerNorm gammas are 1, betas 0; every
 * other tensor is drawn from N(0, `initializerRange`²) with a seed derived from the spec's seed and
 * the tensor's name, so the bytes depend on nothing else.
 *
 * @since 0.1.0
 */
import { endianness } from "node:os"
import onnxProto from "onnx-proto"
import type { onnx as Onnx } from "onnx-proto"
import type { BertSpec } from "./BertSpec.js"
import { validateSpec } from "./BertSpec.js"
import { fillNormal, hashSeed, xoshiro128 } from "./SeededNormal.js"

const { onnx } = onnxProto

/**
 * Version of the ONNX operator set the graph uses.
 *
 * @since 0.1.0
 * @category constants
 */
export const OPSET_VERSION = 17

/**
 * ONNX IR version of the serialised model.
 *
 * @since 0.1.0
 * @category constants
 */
export const IR_VERSION = 8

const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64
const FLOAT32_LOWEST = -3.4028234663852886e38

type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: ReadonlyArray<number> }
  | { readonly name: string; readonly float: number }

const attributeProto = (attribute: Attribute): Onnx.IAttributeProto => {
  const AttributeType = onnx.AttributeProto.AttributeType
  if ("int" in attribute) return { name: attribute.name, type: AttributeType.INT, i: attribute.int }
  if ("ints" in attribute) return { name: attribute.name, type: AttributeType.INTS, ints: [...attribute.ints] }
  return { name: attribute.name, type: AttributeType.FLOAT, f: attribute.float }
}

const littleEndianBytes = (data: Float32Array | BigInt64Array): Uint8Array => {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (endianness() === "LE") return bytes
  const swapped = new Uint8Array(bytes.length)
  const width = data.BYTES_PER_ELEMENT
  for (let i = 0; i < bytes.length; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j]!
  }
  return swapped
}

/**
 * Accumulates nodes and initializers; every node gets a unique, readable name.
 */
class GraphBuilder {
  readonly nodes: Array<Onnx.INodeProto> = []
  readonly initializers: Array<Onnx.ITensorProto> = []
  private readonly constants = new Map<string, string>()

  constructor(private readonly spec: BertSpec) {}

  /** Adds a node with one output named `output` and returns that name. */
  op(opType: string, inputs: ReadonlyArray<string>, output: string, attributes: ReadonlyArray<Attribute> = []): string {
    this.nodes.push({
      name: `${output}/${opType}`,
      opType,
      input: [...inputs],
      output: [output],
      attribute: attributes.map(attributeProto)
    })
    return output
  }

  /** A float32 initializer drawn from N(0, initializerRange²). */
  normal(name: string, dims: ReadonlyArray<number>): string {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1))
    fillNormal(data, xoshiro128(hashSeed(this.spec.seed, name)), 0, this.spec.initializerRange)
    return this.floatTensor(name, dims, data)
  }

  /** A float32 initializer filled with one value. */
  filled(name: string, dims: ReadonlyArray<number>, value: number): string {
    return this.floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value))
  }

  /** A shared scalar float32 constant (an initializer with shape `[]`). */
  scalar(value: number): string {
    const key = `f32:${value}`
    const existing = this.constants.get(key)
    if (existing !== undefined) return existing
    const name = `const_f32_${this.constants.size}`
    this.constants.set(key, name)
    return this.floatTensor(name, [], Float32Array.of(value))
  }

  /** A shared 1-D int64 constant. */
  int64s(values: ReadonlyArray<number>): string {
    const key = `i64:${values.join(",")}`
    const existing = this.constants.get(key)
    if (existing !== undefined) return existing
    const name = `const_i64_${this.constants.size}`
    this.constants.set(key, name)
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: INT64,
      rawData: littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v)))
    })
    return name
  }

  private floatTensor(name: string, dims: ReadonlyArray<number>, data: Float32Array): string {
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: littleEndianBytes(data) })
    return name
  }
}

const layerNorm = (g: GraphBuilder, input: string, prefix: string, hidden: number, eps: number): string =>
  g.op(
    "LayerNormalization",
    [
      input,
      g.filled(`${prefix}.weight`, [hidden], 1),
      g.filled(`${prefix}.bias`, [hidden], 0)
    ],
    `${prefix}.output`,
    [{ name: "axis", int: -1 }, { name: "epsilon", float: eps }]
  )

const linear = (g: GraphBuilder, input: string, prefix: string, inSize: number, outSize: number): string => {
  const product = g.op("MatMul", [input, g.normal(`${prefix}.weight`, [inSize, outSize])], `${prefix}.matmul`)
  return g.op("Add", [product, g.normal(`${prefix}.bias`, [outSize])], `${prefix}.output`)
}

const encoderLayer = (g: GraphBuilder, spec: BertSpec, input: string, maskBias: string, index: number): string => {
  const h = spec.hiddenSize
  const heads = spec.numHeads
  const headDim = h / heads
  const p = `encoder.layer.${index}`
  const splitHeads = g.int64s([0, 0, heads, headDim])
  const toHeads = (name: string, perm: ReadonlyArray<number>): string => {
    const projected = linear(g, input, `${p}.attention.self.${name}`, h, h)
    const split = g.op("Reshape", [projected, splitHeads], `${p}.attention.self.${name}.heads`)
    return g.op("Transpose", [split], `${p}.attention.self.${name}.transposed`, [{ name: "perm", ints: perm }])
  }
  const query = toHeads("query", [0, 2, 1, 3]) // [B, heads, S, d]
  const key = toHeads("key", [0, 2, 3, 1]) // [B, heads, d, S]
  const value = toHeads("value", [0, 2, 1, 3]) // [B, heads, S, d]
  const rawScores = g.op("MatMul", [query, key], `${p}.attention.self.scores`)
  const scaled = g.op("Div", [rawScores, g.scalar(Math.sqrt(headDim))], `${p}.attention.self.scaled_scores`)
  const masked = g.op("Add", [scaled, maskBias], `${p}.attention.self.masked_scores`)
  const probs = g.op("Softmax", [masked], `${p}.attention.self.probs`, [{ name: "axis", int: -1 }])
  const context = g.op("MatMul", [probs, value], `${p}.attention.self.context`)
  const merged = g.op("Transpose", [context], `${p}.attention.self.context.transposed`, [
    { name: "perm", ints: [0, 2, 1, 3] }
  ])
  const contextStates = g.op("Reshape", [merged, g.int64s([0, 0, h])], `${p}.attention.self.context.merged`)
  const attentionOut = linear(g, contextStates, `${p}.attention.output.dense`, h, h)
  const attentionResidual = g.op("Add", [attentionOut, input], `${p}.attention.output.residual`)
  const attention = layerNorm(g, attentionResidual, `${p}.attention.output.LayerNorm`, h, spec.layerNormEps)

  const intermediate = linear(g, attention, `${p}.intermediate.dense`, h, spec.intermediateSize)
  const scaledIn = g.op("Div", [intermediate, g.scalar(Math.SQRT2)], `${p}.intermediate.gelu.scaled`)
  const erf = g.op("Erf", [scaledIn], `${p}.intermediate.gelu.erf`)
  const onePlus = g.op("Add", [erf, g.scalar(1)], `${p}.intermediate.gelu.one_plus`)
  const product = g.op("Mul", [intermediate, onePlus], `${p}.intermediate.gelu.product`)
  const gelu = g.op("Mul", [product, g.scalar(0.5)], `${p}.intermediate.gelu.output`)

  const output = linear(g, gelu, `${p}.output.dense`, spec.intermediateSize, h)
  const outputResidual = g.op("Add", [output, attention], `${p}.output.residual`)
  return layerNorm(g, outputResidual, `${p}.output.LayerNorm`, h, spec.layerNormEps)
}

/**
 * Builds the encoder described by `spec` and returns the serialised ONNX `ModelProto`. The same
 * spec always gives the same bytes. Throws a `RangeError` when the spec is invalid (see
 * `validateSpec`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBertModel = (spec: BertSpec): Uint8Array => {
  const problem = validateSpec(spec)
  if (problem !== undefined) throw new RangeError(`invalid BERT spec ${spec.id}: ${problem}`)
  const g = new GraphBuilder(spec)
  const h = spec.hiddenSize

  // Embeddings
  const words = g.op(
    "Gather",
    [
      g.normal("embeddings.word_embeddings.weight", [spec.vocabSize, h]),
      "input_ids"
    ],
    "embeddings.words",
    [{ name: "axis", int: 0 }]
  )
  const types = g.op(
    "Gather",
    [
      g.normal("embeddings.token_type_embeddings.weight", [spec.typeVocabSize, h]),
      "token_type_ids"
    ],
    "embeddings.token_types",
    [{ name: "axis", int: 0 }]
  )
  const sequenceLength = g.op("Shape", ["input_ids"], "embeddings.sequence_length", [
    { name: "start", int: 1 },
    { name: "end", int: 2 }
  ])
  const positions = g.op("Slice", [
    g.normal("embeddings.position_embeddings.weight", [spec.maxPositions, h]),
    g.int64s([0]),
    sequenceLength,
    g.int64s([0])
  ], "embeddings.positions")
  const wordsAndTypes = g.op("Add", [words, types], "embeddings.words_and_types")
  const summed = g.op("Add", [wordsAndTypes, positions], "embeddings.sum")
  let hidden = layerNorm(g, summed, "embeddings.LayerNorm", h, spec.layerNormEps)

  // Additive attention mask bias [B, 1, 1, S]
  const maskFloat = g.op("Cast", ["attention_mask"], "attention_mask.float", [{ name: "to", int: FLOAT }])
  const mask4 = g.op("Unsqueeze", [maskFloat, g.int64s([1, 2])], "attention_mask.broadcast")
  const inverted = g.op("Sub", [g.scalar(1), mask4], "attention_mask.inverted")
  const maskBias = g.op("Mul", [inverted, g.scalar(FLOAT32_LOWEST)], "attention_mask.bias")

  for (let layer = 0; layer < spec.numLayers; layer++) {
    hidden = encoderLayer(g, spec, hidden, maskBias, layer)
  }
  const lastHiddenState = g.op("Identity", [hidden], "last_hidden_state")

  // Masked mean pooling, then L2 normalisation
  const axis1 = g.int64s([1])
  const mask3 = g.op("Unsqueeze", [maskFloat, g.int64s([2])], "pooling.mask")
  const maskedStates = g.op("Mul", [lastHiddenState, mask3], "pooling.masked_states")
  const sum = g.op("ReduceSum", [maskedStates, axis1], "pooling.sum", [{ name: "keepdims", int: 0 }])
  const count = g.op("ReduceSum", [mask3, axis1], "pooling.count", [{ name: "keepdims", int: 0 }])
  const safeCount = g.op("Max", [count, g.scalar(1e-9)], "pooling.count_clamped")
  const mean = g.op("Div", [sum, safeCount], "pooling.mean")
  const norm = g.op("ReduceL2", [mean], "normalize.norm", [
    { name: "axes", ints: [1] },
    { name: "keepdims", int: 1 }
  ])
  const safeNorm = g.op("Max", [norm, g.scalar(1e-12)], "normalize.norm_clamped")
  g.op("Div", [mean, safeNorm], "sentence_embedding")

  const tensorType = (elemType: number, dims: ReadonlyArray<string | number>): Onnx.ITypeProto => ({
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => typeof d === "string" ? { dimParam: d } : { dimValue: d }) }
    }
  })
  const tokenInput = (name: string): Onnx.IValueInfoProto => ({
    name,
    type: tensorType(INT64, ["batch_size", "sequence_length"])
  })
  const graph: Onnx.IGraphProto = {
    name: spec.id,
    node: g.nodes,
    initializer: g.initializers,
    input: [tokenInput("input_ids"), tokenInput("attention_mask"), tokenInput("token_type_ids")],
    output: [
      { name: "last_hidden_state", type: tensorType(FLOAT, ["batch_size", "sequence_length", h]) },
      { name: "sentence_embedding", type: tensorType(FLOAT, ["batch_size", h]) }
    ]
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "adabatch",
    producerVersion: "0.1.0",
    docString: `BERT encoder with seeded random weights (${spec.numLayers} layers, hidden ${h}, ` +
      `${spec.numHeads} heads, seed ${spec.seed}), generated by @adabatch/core. Not a trained model.`,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    graph
  })
  return onnx.ModelProto.encode(model).finish()
}
