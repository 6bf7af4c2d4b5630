import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import onnxProto from "onnx-proto"
import { InferenceSession } from "onnxruntime-node"
import {
  IR_VERSION,
  makeBertModel,
  makeEnglishTokenizer,
  makeTokenizerConfig,
  MiniLmL6Spec,
  OPSET_VERSION,
  parameterCount,
  TinySpec,
  validateSpec
} from "../../src/model/builtin/index.js"
import {
  decodeGraph,
  embeddingRow,
  floatParameterCount,
  type HfTokenizer,
  l2,
  makeTokenizer,
  maxAbsDiff,
  meanPoolNormalize,
  runEncoder
} from "./helpers.js"

const { onnx } = onnxProto

describe("makeBertModel (tiny spec)", () => {
  const bytes = makeBertModel(TinySpec)

  it("is deterministic: two builds give identical bytes", () => {
    const again = makeBertModel(TinySpec)
    assert.strictEqual(Buffer.compare(Buffer.from(bytes), Buffer.from(again)), 0)
  })

  it("a different seed gives different weights", () => {
    const other = makeBertModel({ ...TinySpec, seed: TinySpec.seed + 1 })
    assert.strictEqual(other.byteLength, bytes.byteLength)
    assert.notStrictEqual(Buffer.compare(Buffer.from(bytes), Buffer.from(other)), 0)
  })

  it("is an opset 17 / IR 8 graph with the BERT inputs, outputs and operators", () => {
    const model = onnx.ModelProto.decode(bytes)
    assert.strictEqual(Number(model.irVersion), IR_VERSION)
    assert.deepStrictEqual(model.opsetImport.map((o) => [o.domain ?? "", Number(o.version)]), [["", OPSET_VERSION]])
    const graph = decodeGraph(bytes)
    assert.deepStrictEqual(graph.input.map((i) => i.name), ["input_ids", "attention_mask", "token_type_ids"])
    assert.deepStrictEqual(graph.output.map((o) => o.name), ["last_hidden_state", "sentence_embedding"])
    for (const input of graph.input) {
      assert.strictEqual(input.type?.tensorType?.elemType, onnx.TensorProto.DataType.INT64)
      assert.deepStrictEqual(input.type?.tensorType?.shape?.dim?.map((d) => d.dimParam), [
        "batch_size",
        "sequence_length"
      ])
    }
    const ops = graph.node.map((n) => n.opType)
    const count = (op: string) => ops.filter((o) => o === op).length
    assert.strictEqual(count("Erf"), TinySpec.numLayers) // exact GELU, one per layer
    assert.strictEqual(count("Softmax"), TinySpec.numLayers)
    assert.strictEqual(count("LayerNormalization"), 1 + 2 * TinySpec.numLayers)
    assert.strictEqual(count("ReduceL2"), 1)
    for (const node of graph.node) {
      if (node.opType === "LayerNormalization") {
        const eps = (node.attribute ?? []).find((a) => a.name === "epsilon")
        assert.approximately(eps?.f ?? 0, 1e-12, 1e-18)
      }
    }
    assert.strictEqual(new Set(graph.node.map((n) => n.name)).size, graph.node.length, "node names are unique")
  })

  it("has exactly the parameters parameterCount predicts, N(0, 0.02) weights, LayerNorm 1 / 0", () => {
    assert.strictEqual(floatParameterCount(bytes), parameterCount(TinySpec))
    assert.strictEqual(parameterCount(TinySpec), 998_016)
    const graph = decodeGraph(bytes)
    const tensor = (name: string) => {
      const t = graph.initializer.find((i) => i.name === name)!
      const raw = t.rawData!
      return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
    }
    const words = tensor("embeddings.word_embeddings.weight")
    assert.strictEqual(words.length, TinySpec.vocabSize * TinySpec.hiddenSize)
    let sum = 0
    let squares = 0
    for (const w of words) {
      sum += w
      squares += w * w
    }
    const mean = sum / words.length
    const std = Math.sqrt(squares / words.length - mean * mean)
    assert.isBelow(Math.abs(mean), 2e-4)
    assert.approximately(std, 0.02, 2e-4)
    assert.isTrue(tensor("encoder.layer.0.attention.output.LayerNorm.weight").every((g) => g === 1))
    assert.isTrue(tensor("encoder.layer.1.output.LayerNorm.bias").every((b) => b === 0))
  })

  it("the MiniLM-L6 spec has all-MiniLM-L6-v2's 22,565,376 parameters", () => {
    assert.strictEqual(parameterCount(MiniLmL6Spec), 22_565_376)
  })

  it("rejects an invalid spec", () => {
    assert.match(validateSpec({ ...TinySpec, numHeads: 5 }) ?? "", /not a multiple of numHeads/)
    assert.throws(() => makeBertModel({ ...TinySpec, numLayers: 0 }), /numLayers must be a positive integer/)
  })
})

describe("the tiny model in onnxruntime", () => {
  let session: InferenceSession
  let tokenizer: HfTokenizer
  const texts = [
    "Where is my package?",
    "The central bank left interest rates unchanged at 4.25% on Thursday, in line with market expectations.",
    "how long to boil an egg",
    "Astronomers have detected water vapour in the atmosphere of a planet orbiting a small, cool star."
  ]
  let rows: Array<Array<number>>

  beforeAll(async () => {
    // Built in-process (not read from the cache), so these tests check the current graph builder.
    session = await InferenceSession.create(makeBertModel(TinySpec), {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      graphOptimizationLevel: "all"
    })
    tokenizer = makeTokenizer(await Effect.runPromise(makeEnglishTokenizer()), makeTokenizerConfig(128))
    rows = texts.map((t) => tokenizer.encode(t).ids)
  })
  afterAll(async () => {
    await session?.release()
  })

  it("loads with the BERT inputs and both outputs", () => {
    assert.deepStrictEqual([...session.inputNames], ["input_ids", "attention_mask", "token_type_ids"])
    assert.deepStrictEqual([...session.outputNames], ["last_hidden_state", "sentence_embedding"])
  })

  it("sentence_embedding is unit-norm and equals masked mean pooling of last_hidden_state, then L2", async () => {
    const out = await runEncoder(session, rows)
    assert.strictEqual(out.hidden, TinySpec.hiddenSize)
    rows.forEach((row, b) => {
      const embedding = embeddingRow(out, b)
      assert.approximately(l2(embedding), 1, 1e-5)
      assert.isBelow(maxAbsDiff(embedding, meanPoolNormalize(out, b, row.length)), 1e-5)
    })
  })

  it("a padded row gives the same embedding and token states as the row alone", async () => {
    const batch = await runEncoder(session, rows, 40)
    for (let b = 0; b < rows.length; b++) {
      const alone = await runEncoder(session, [rows[b]!])
      assert.isBelow(maxAbsDiff(embeddingRow(batch, b), embeddingRow(alone, 0)), 1e-5)
      const states = batch.lastHiddenState.subarray(
        b * batch.seq * batch.hidden,
        (b * batch.seq + rows[b]!.length) * batch.hidden
      )
      assert.isBelow(maxAbsDiff(states, alone.lastHiddenState), 1e-5)
    }
  })

  it("different texts give different embeddings, the same text the same one", async () => {
    const out = await runEncoder(session, [rows[0]!, rows[2]!, rows[0]!])
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0)
    assert.isBelow(dot(embeddingRow(out, 0), embeddingRow(out, 1)), 0.999)
    assert.isBelow(maxAbsDiff(embeddingRow(out, 0), embeddingRow(out, 2)), 1e-6)
  })

  it("accepts inputs up to max_position_embeddings tokens", async () => {
    const long = [101, ...Array.from({ length: TinySpec.maxPositions - 2 }, (_, i) => 2000 + i), 102]
    const out = await runEncoder(session, [long])
    assert.approximately(l2(embeddingRow(out, 0)), 1, 1e-5)
  })
})
