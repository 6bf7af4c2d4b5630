/**
 * Test fixtures: small but real model directories written to a temporary folder — a WordPiece
 * `tokenizer.json` and an ONNX encoder built with onnx-proto (token + position embeddings, one
 * masked self-attention layer with a residual and tanh). Variants produce the broken directories
 * the load-error tests need.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import onnxProto from "onnx-proto"

const { onnx } = onnxProto
const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64
const INT32 = onnx.TensorProto.DataType.INT32

const WORDS = (
  "the quick brown fox jumps over lazy dog a an and or of to in is it this that for on with as was be by " +
  "are at from his her they we you he she not but all can had have one two three embedding model batch text " +
  "token tokens hello world padding length long short sentence vector search query document"
).split(" ")

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const

/** The fixture vocabulary: specials, characters, continuation characters, words. */
export const vocabulary = (): Array<string> => {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789".split("")
  const punctuation = ".,!?;:'\"()-".split("")
  return [...SPECIALS, ...chars, ...punctuation, ...chars.map((c) => `##${c}`), ...WORDS]
}

/** A WordPiece `tokenizer.json` (BERT-style: lowercase, `[CLS] … [SEP]`). */
export const tokenizerJson = (options?: { readonly truncationMaxLength?: number }) => {
  const vocab = vocabulary()
  const id = (token: string) => vocab.indexOf(token)
  return {
    version: "1.0",
    truncation: options?.truncationMaxLength === undefined
      ? null
      : { direction: "Right", max_length: options.truncationMaxLength, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: SPECIALS.map((content) => ({
      id: id(content),
      content,
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
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } }
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } }
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] }
      }
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i]))
    }
  }
}

export interface ModelSpec {
  /** Hidden size (default 16). */
  readonly hidden?: number
  /** Rows of the token embedding table (default: the fixture vocabulary's size). */
  readonly vocab?: number
  /** Rows of the position table (default 64). */
  readonly positions?: number
  /** Whether the model takes `token_type_ids` (default true). */
  readonly tokenTypes?: boolean
  /** Whether the model takes `attention_mask` (default true). */
  readonly attentionMask?: boolean
  /** Outputs to expose (default `["last_hidden_state"]`). */
  readonly outputs?: ReadonlyArray<"last_hidden_state" | "sentence_embedding" | "logits">
  /** An extra required input the model declares (e.g. `"pixel_values"`). */
  readonly extraInput?: string
  /** Element type of `input_ids` (default int64). */
  readonly idsType?: "int64" | "int32"
  readonly seed?: number
}

const weights = (count: number, seed: number, scale: number): Float32Array => {
  const out = new Float32Array(count)
  let state = seed >>> 0
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = (state / 0x100000000 - 0.5) * 2 * scale
  }
  return out
}

const floatTensor = (name: string, dims: Array<number>, data: Float32Array) =>
  onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) })

const int64Tensor = (name: string, dims: Array<number>, values: Array<number>) =>
  onnx.TensorProto.create({ name, dims, dataType: INT64, int64Data: values })

const node = (opType: string, input: Array<string>, output: Array<string>, attribute: Array<object> = []) =>
  onnx.NodeProto.create({ opType, input, output, name: output[0]!, attribute })

const intAttr = (name: string, i: number) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i })

const intsAttr = (name: string, ints: Array<number>) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints })

const valueInfo = (name: string, elemType: number, dims: Array<string | number>) =>
  onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) }
      }
    })
  })

/** Serialises the fixture encoder. */
export const modelBytes = (spec: ModelSpec = {}): Uint8Array => {
  const H = spec.hidden ?? 16
  const V = spec.vocab ?? vocabulary().length
  const P = spec.positions ?? 64
  const seed = spec.seed ?? 7
  const withTypes = spec.tokenTypes ?? true
  const withMask = spec.attentionMask ?? true
  const outputs = spec.outputs ?? ["last_hidden_state"]
  const initializer = [
    floatTensor("tok_emb", [V, H], weights(V * H, seed, 1)),
    floatTensor("pos_emb", [P, H], weights(P * H, seed + 1, 0.5)),
    floatTensor("type_emb", [2, H], weights(2 * H, seed + 2, 0.5)),
    floatTensor("wq", [H, H], weights(H * H, seed + 3, 0.5)),
    floatTensor("wk", [H, H], weights(H * H, seed + 4, 0.5)),
    floatTensor("wv", [H, H], weights(H * H, seed + 5, 0.5)),
    floatTensor("scale", [], new Float32Array([1 / Math.sqrt(H)])),
    floatTensor("one", [], new Float32Array([1])),
    floatTensor("neg_big", [], new Float32Array([-10000])),
    int64Tensor("zero_i", [], [0]),
    int64Tensor("one_i", [], [1]),
    int64Tensor("axis1", [1], [1]),
    int64Tensor("axis2", [1], [2])
  ]
  const ids = spec.idsType === "int32" ? "ids64" : "input_ids"
  const nodes = [
    ...(spec.idsType === "int32" ? [node("Cast", ["input_ids"], ["ids64"], [intAttr("to", INT64)])] : []),
    node("Gather", ["tok_emb", ids], ["e_tok"], [intAttr("axis", 0)]),
    node("Shape", [ids], ["ids_shape"]),
    node("Gather", ["ids_shape", "one_i"], ["seq_len"], [intAttr("axis", 0)]),
    node("Range", ["zero_i", "seq_len", "one_i"], ["positions"]),
    node("Gather", ["pos_emb", "positions"], ["e_pos"], [intAttr("axis", 0)]),
    node("Add", ["e_tok", "e_pos"], ["e_tp"]),
    ...(withTypes
      ? [
        node("Gather", ["type_emb", "token_type_ids"], ["e_type"], [intAttr("axis", 0)]),
        node("Add", ["e_tp", "e_type"], ["e"])
      ]
      : [node("Identity", ["e_tp"], ["e"])]),
    node("MatMul", ["e", "wq"], ["q"]),
    node("MatMul", ["e", "wk"], ["k"]),
    node("MatMul", ["e", "wv"], ["v"]),
    node("Transpose", ["k"], ["kt"], [intsAttr("perm", [0, 2, 1])]),
    node("MatMul", ["q", "kt"], ["qk"]),
    node("Mul", ["qk", "scale"], ["scores0"]),
    ...(withMask
      ? [
        node("Cast", ["attention_mask"], ["mask_f"], [intAttr("to", FLOAT)]),
        node("Sub", ["one", "mask_f"], ["mask_inv"]),
        node("Mul", ["mask_inv", "neg_big"], ["mask_add"]),
        node("Unsqueeze", ["mask_add", "axis1"], ["mask_add3"]),
        node("Add", ["scores0", "mask_add3"], ["scores"])
      ]
      : [node("Identity", ["scores0"], ["scores"])]),
    node("Softmax", ["scores"], ["probs"], [intAttr("axis", -1)]),
    node("MatMul", ["probs", "v"], ["ctx"]),
    node("Add", ["ctx", "e"], ["res"]),
    node("Tanh", ["res"], ["last_hidden_state"])
  ]
  if (outputs.includes("sentence_embedding")) {
    const maskInput = withMask ? "attention_mask" : ids
    nodes.push(
      node("Cast", [maskInput], ["pool_mask_f"], [intAttr("to", FLOAT)]),
      node("Unsqueeze", ["pool_mask_f", "axis2"], ["pool_mask3"]),
      node("Mul", ["last_hidden_state", "pool_mask3"], ["masked"]),
      node("ReduceSum", ["masked", "axis1"], ["pool_sum"], [intAttr("keepdims", 0)]),
      node("ReduceSum", ["pool_mask3", "axis1"], ["pool_count"], [intAttr("keepdims", 0)]),
      node("Div", ["pool_sum", "pool_count"], ["sentence_embedding"])
    )
  }
  if (outputs.includes("logits")) nodes.push(node("ReduceMean", ["last_hidden_state"], ["logits"]))
  const inputs = [
    valueInfo("input_ids", spec.idsType === "int32" ? INT32 : INT64, ["batch", "sequence"]),
    ...(withMask ? [valueInfo("attention_mask", INT64, ["batch", "sequence"])] : []),
    ...(withTypes ? [valueInfo("token_type_ids", INT64, ["batch", "sequence"])] : []),
    ...(spec.extraInput === undefined ? [] : [valueInfo(spec.extraInput, FLOAT, ["batch", 3])])
  ]
  if (spec.extraInput !== undefined) {
    nodes.push(node("ReduceSum", [spec.extraInput], ["extra_sum"], [intAttr("keepdims", 0)]))
  }
  const graphOutputs = outputs.map((name) =>
    name === "last_hidden_state"
      ? valueInfo(name, FLOAT, ["batch", "sequence", H])
      : name === "sentence_embedding"
      ? valueInfo(name, FLOAT, ["batch", H])
      : valueInfo(name, FLOAT, [])
  )
  if (spec.extraInput !== undefined) graphOutputs.push(valueInfo("extra_sum", FLOAT, []))
  const graph = onnx.GraphProto.create({
    name: "fixture",
    node: nodes,
    initializer,
    input: inputs,
    output: graphOutputs
  })
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "adabatch-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph
  })
  return onnx.ModelProto.encode(model).finish()
}

export interface DirSpec {
  readonly model?: ModelSpec | Uint8Array | null
  readonly tokenizer?: unknown
  /** `config.json` contents (default: 64 positions, like the default fixture model); `null`: no file. */
  readonly config?: object | null
  readonly files?: Record<string, string>
}

/** A temporary root for fixture directories (synchronous, so layers can be built from it directly). */
export const makeTempRoot = () => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-model-test-"))
  let n = 0
  return {
    root,
    /** Writes a model directory and returns its path. */
    dir: (spec: DirSpec = {}): string => {
      const dir = Path.join(root, `model-${n++}`)
      Fs.mkdirSync(dir, { recursive: true })
      if (spec.model !== null) {
        const bytes = spec.model instanceof Uint8Array ? spec.model : modelBytes(spec.model)
        Fs.writeFileSync(Path.join(dir, "model.onnx"), bytes)
      }
      if (spec.tokenizer !== null) {
        Fs.writeFileSync(Path.join(dir, "tokenizer.json"), JSON.stringify(spec.tokenizer ?? tokenizerJson()))
      }
      if (spec.config !== null) {
        const config = spec.config ?? { model_type: "bert", max_position_embeddings: 64, hidden_size: 16 }
        Fs.writeFileSync(Path.join(dir, "config.json"), JSON.stringify(config))
      }
      for (const [name, content] of Object.entries(spec.files ?? {})) {
        Fs.mkdirSync(Path.dirname(Path.join(dir, name)), { recursive: true })
        Fs.writeFileSync(Path.join(dir, name), content)
      }
      return dir
    },
    cleanup: () => Fs.rmSync(root, { recursive: true, force: true })
  }
}

/** Random English-ish text of `words` words from the fixture vocabulary (plus unknown words). */
export const text = (words: number, seed: number): string => {
  const out: Array<string> = []
  let state = seed >>> 0
  for (let i = 0; i < words; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out.push(state % 11 === 0 ? `zq${state % 97}x` : WORDS[state % WORDS.length]!)
  }
  return out.join(" ")
}
