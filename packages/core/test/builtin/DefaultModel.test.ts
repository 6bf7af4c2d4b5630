import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { InferenceSession } from "onnxruntime-node"
import {
  BUILTIN_GENERATOR_VERSION,
  builtinModelDirectory,
  ensureBuiltinModel,
  MANIFEST_FILE,
  MiniLmL6Spec,
  parameterCount,
  resolveCacheRoot
} from "../../src/model/builtin/index.js"
import {
  embeddingRow,
  floatParameterCount,
  type HfTokenizer,
  l2,
  loadTokenizer,
  maxAbsDiff,
  meanPoolNormalize,
  runEncoder
} from "./helpers.js"

const DEFAULT_V2_MANIFEST = `1b1ba4670cb3d35b7e27867beaeaf9daa520df9bcd79386d301a131109e7f289  adabatch.json
5c73903b2c65dec0109d8e5139df8d43272b4ded676d64172ecd8d679d5f5061  config.json
f42d8b717352b7b1440b065276558fb47db73c50339bb86f0fa0f4ca7f63f0fd  model.onnx
535e51d40e75320c316ba995e3a8604be6b60b179be7da8b78079cfbdd25263b  tokenizer.json
27c432d2f29491f7643720ba3a68e1fe4049c24bd7a1eda00b68f6875ab7a7ee  tokenizer_config.json
`

// The default model is ~86 MiB: it is generated once into the real cache (ADABATCH_CACHE_DIR or
// packages/core/.cache, ignored by git), then reused by later runs, the server and the bench.
describe("the default (MiniLM-L6-shaped) built-in model", () => {
  let dir: string
  let session: InferenceSession
  let tokenizer: HfTokenizer

  beforeAll(async () => {
    dir = await Effect.runPromise(ensureBuiltinModel("default"))
    session = await InferenceSession.create(Path.join(dir, "model.onnx"), {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      graphOptimizationLevel: "all"
    })
    tokenizer = await loadTokenizer(dir)
  })
  afterAll(async () => {
    await session?.release()
  })

  it("lives in the cache, not in the repository's tracked files", async () => {
    const root = await Effect.runPromise(resolveCacheRoot())
    assert.strictEqual(dir, builtinModelDirectory(root, "default"))
    if (process.env["ADABATCH_CACHE_DIR"] === undefined) {
      assert.match(dir, /[/\\]packages[/\\]core[/\\]\.cache[/\\]models[/\\]default-v\d+$/)
    }
  })

  it("holds exactly the bytes pinned for this generator version", async () => {
    // See the same check for the tiny model in BuiltinModel.test.ts.
    assert.strictEqual(BUILTIN_GENERATOR_VERSION, 2)
    assert.strictEqual(await Fs.readFile(Path.join(dir, MANIFEST_FILE), "utf8"), DEFAULT_V2_MANIFEST)
  })

  it("has all-MiniLM-L6-v2's shape: 22,565,376 float32 parameters in ~86 MiB", async () => {
    const bytes = await Fs.readFile(Path.join(dir, "model.onnx"))
    assert.isAbove(bytes.byteLength, 85 * 2 ** 20)
    assert.isBelow(bytes.byteLength, 87 * 2 ** 20)
    assert.strictEqual(floatParameterCount(bytes), parameterCount(MiniLmL6Spec))
    assert.strictEqual(parameterCount(MiniLmL6Spec), 22_565_376)
    const config = JSON.parse(await Fs.readFile(Path.join(dir, "config.json"), "utf8"))
    assert.deepInclude(config, {
      model_type: "bert",
      vocab_size: 30522,
      hidden_size: 384,
      num_hidden_layers: 6,
      num_attention_heads: 12,
      intermediate_size: 1536,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12
    })
    const adabatch = JSON.parse(await Fs.readFile(Path.join(dir, "adabatch.json"), "utf8"))
    assert.deepStrictEqual(adabatch, {
      id: "adabatch/minilm-l6-random",
      pooling: "mean",
      normalize: true,
      max_length: 512,
      dimension: 384
    })
  })

  it("runs in onnxruntime: [batch, seq, 384] states and unit-norm [batch, 384] mean-pooled embeddings", async () => {
    const rows = ["Where is my package?", "The printing press was developed in Europe around 1440."].map((t) =>
      tokenizer.encode(t).ids
    )
    const batch = await runEncoder(session, rows)
    assert.strictEqual(batch.hidden, 384)
    assert.strictEqual(batch.lastHiddenState.length, 2 * batch.seq * 384)
    for (let b = 0; b < rows.length; b++) {
      assert.approximately(l2(embeddingRow(batch, b)), 1, 1e-5)
      assert.isBelow(maxAbsDiff(embeddingRow(batch, b), meanPoolNormalize(batch, b, rows[b]!.length)), 1e-5)
    }
    const alone = await runEncoder(session, [rows[0]!])
    assert.isBelow(maxAbsDiff(embeddingRow(batch, 0), embeddingRow(alone, 0)), 1e-5)
  })
})
