import { Tokenizer } from "@huggingface/tokenizers"
import * as Fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import onnxProto from "onnx-proto"
import { type InferenceSession, Tensor } from "onnxruntime-node"

const { onnx } = onnxProto

/** A fresh temporary directory, removed by the returned cleanup. */
export const makeTempDir = async (prefix: string) => {
  const dir = await Fs.mkdtemp(Path.join(tmpdir(), `adabatch-${prefix}-`))
  return { dir, cleanup: () => Fs.rm(dir, { recursive: true, force: true }) }
}

/**
 * The part of `@huggingface/tokenizers`' `Tokenizer` the tests use. Its own typings do not resolve
 * under NodeNext (extension-less relative imports in its .d.ts files), so they type it as `any`.
 */
export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: Array<number>; tokens: Array<string> }
  tokenize(text: string): Array<string>
  decode(ids: ReadonlyArray<number>, options?: { skip_special_tokens?: boolean }): string
}

/** Creates a tokenizer from `tokenizer.json` and `tokenizer_config.json` documents. */
export const makeTokenizer = (json: unknown, config: unknown): HfTokenizer =>
  new Tokenizer(json as object, config as object) as HfTokenizer

/** Loads `tokenizer.json` (+ `tokenizer_config.json`) from a model directory. */
export const loadTokenizer = async (dir: string): Promise<HfTokenizer> =>
  makeTokenizer(
    JSON.parse(await Fs.readFile(Path.join(dir, "tokenizer.json"), "utf8")),
    JSON.parse(await Fs.readFile(Path.join(dir, "tokenizer_config.json"), "utf8"))
  )

/** The decoded graph of a serialised ONNX model (decoded repeated fields are always arrays). */
export const decodeGraph = (bytes: Uint8Array): onnxProto.onnx.GraphProto =>
  onnx.ModelProto.decode(bytes).graph as onnxProto.onnx.GraphProto

/** Float32 element count of the FLOAT weight initializers (rank >= 1; scalar constants excluded). */
export const floatParameterCount = (bytes: Uint8Array): number => {
  let count = 0
  for (const t of decodeGraph(bytes).initializer) {
    if (t.dataType === onnx.TensorProto.DataType.FLOAT && (t.dims ?? []).length > 0) {
      count += (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1)
    }
  }
  return count
}

export interface EncoderOutput {
  /** [batch, seq, hidden] */
  readonly lastHiddenState: Float32Array
  /** [batch, hidden] */
  readonly sentenceEmbedding: Float32Array
  readonly seq: number
  readonly hidden: number
}

/**
 * Runs the encoder on token id rows, right-padded with [PAD]=0 (mask 0) to `padTo` (default: the
 * longest row).
 */
export const runEncoder = async (
  session: InferenceSession,
  rows: ReadonlyArray<ReadonlyArray<number>>,
  padTo?: number
): Promise<EncoderOutput> => {
  const seq = padTo ?? Math.max(...rows.map((r) => r.length))
  const batch = rows.length
  const ids = new BigInt64Array(batch * seq)
  const mask = new BigInt64Array(batch * seq)
  rows.forEach((row, b) =>
    row.forEach((id, s) => {
      ids[b * seq + s] = BigInt(id)
      mask[b * seq + s] = 1n
    })
  )
  const out = await session.run({
    input_ids: new Tensor("int64", ids, [batch, seq]),
    attention_mask: new Tensor("int64", mask, [batch, seq]),
    token_type_ids: new Tensor("int64", new BigInt64Array(batch * seq), [batch, seq])
  })
  const last = out["last_hidden_state"]!
  const sentence = out["sentence_embedding"]!
  const hidden = Number(sentence.dims[1])
  if (last.dims.join() !== [batch, seq, hidden].join() || sentence.dims.join() !== [batch, hidden].join()) {
    throw new Error(`unexpected output shapes ${last.dims} and ${sentence.dims}`)
  }
  return {
    lastHiddenState: last.data as Float32Array,
    sentenceEmbedding: sentence.data as Float32Array,
    seq,
    hidden
  }
}

/** Row `b` of the sentence embeddings. */
export const embeddingRow = (out: EncoderOutput, b: number): Float32Array =>
  out.sentenceEmbedding.subarray(b * out.hidden, (b + 1) * out.hidden)

/** Masked mean of the first `length` token states of row `b`, then L2-normalised. */
export const meanPoolNormalize = (out: EncoderOutput, b: number, length: number): Float64Array => {
  const v = new Float64Array(out.hidden)
  for (let s = 0; s < length; s++) {
    for (let h = 0; h < out.hidden; h++) v[h]! += out.lastHiddenState[(b * out.seq + s) * out.hidden + h]!
  }
  let norm = 0
  for (let h = 0; h < out.hidden; h++) {
    v[h] = v[h]! / length
    norm += v[h]! * v[h]!
  }
  norm = Math.sqrt(norm)
  for (let h = 0; h < out.hidden; h++) v[h] = v[h]! / norm
  return v
}

export const l2 = (v: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!
  return Math.sqrt(s)
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
