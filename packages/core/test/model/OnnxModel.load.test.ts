/**
 * Every bad model directory fails when the Layer is built, with a `ModelLoadError` naming the file
 * and the reason; no worker thread is left behind.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Path from "node:path"
import { EmbeddingModel } from "../../src/model/EmbeddingModel.js"
import { ModelLoadError } from "../../src/model/ModelError.js"
import * as OnnxModel from "../../src/model/onnx/OnnxModel.js"
import { makeTempRoot, tokenizerJson } from "./fixtures.js"

const temp = makeTempRoot()
afterAll(() => temp.cleanup())

const liveWorkerThreads = () =>
  (process.report.getReport() as unknown as { workers: ReadonlyArray<unknown> }).workers.length

const loadError = (options: OnnxModel.OnnxModelOptions) =>
  Effect.gen(function*() {
    const before = liveWorkerThreads()
    const error = yield* Effect.flip(Effect.scoped(Layer.build(OnnxModel.layer(options))))
    assert.instanceOf(error, ModelLoadError)
    assert.strictEqual(liveWorkerThreads(), before, "no worker thread survives a failed start-up")
    return error
  })

const expectLoadError = (
  options: OnnxModel.OnnxModelOptions,
  expected: { readonly file?: string; readonly reason: RegExp }
) =>
  Effect.gen(function*() {
    const error = yield* loadError(options)
    assert.match(error.reason, expected.reason)
    if (expected.file !== undefined) assert.strictEqual(error.path, Path.join(options.dir, expected.file))
    assert.include(error.message, error.path)
  })

describe("OnnxModel load errors (at Layer build time)", () => {
  it.live("missing directory", () =>
    expectLoadError({ dir: Path.join(temp.root, "nope") }, { file: "", reason: /does not exist/ }))

  it.live("a file instead of a directory", () => {
    const dir = temp.dir({})
    return expectLoadError({ dir: Path.join(dir, "tokenizer.json") }, { file: "", reason: /not a directory/ })
  })

  it.live("missing model.onnx", () =>
    expectLoadError({ dir: temp.dir({ model: null }) }, { file: "model.onnx", reason: /model\.onnx is missing/ }))

  it.live("missing tokenizer.json", () =>
    expectLoadError({ dir: temp.dir({ tokenizer: null }) }, {
      file: "tokenizer.json",
      reason: /tokenizer\.json is missing/
    }))

  it.live("model.onnx that is not ONNX", () =>
    expectLoadError({ dir: temp.dir({ model: new TextEncoder().encode("this is not a protobuf model") }) }, {
      file: "model.onnx",
      reason: /onnxruntime cannot load it/
    }))

  it.live("empty model.onnx", () =>
    expectLoadError({ dir: temp.dir({ model: new Uint8Array(0) }) }, {
      file: "model.onnx",
      reason: /onnxruntime cannot load it/
    }))

  it.live("a required input adabatch cannot feed", () =>
    expectLoadError({ dir: temp.dir({ model: { extraInput: "pixel_values" } }) }, {
      file: "model.onnx",
      reason: /requires an input "pixel_values"/
    }))

  it.live("int32 input_ids", () =>
    expectLoadError({ dir: temp.dir({ model: { idsType: "int32" } }) }, {
      file: "model.onnx",
      reason: /input "input_ids" has type int32/
    }))

  it.live("no attention_mask input", () =>
    expectLoadError({ dir: temp.dir({ model: { attentionMask: false } }) }, {
      file: "model.onnx",
      reason: /no "attention_mask" input/
    }))

  it.live("no embedding output", () =>
    expectLoadError({ dir: temp.dir({ model: { outputs: ["logits"] } }) }, {
      file: "model.onnx",
      reason: /none of the outputs sentence_embedding, last_hidden_state, token_embeddings \(it has: logits\)/
    }))

  it.live("a tokenizer whose ids the model's embedding table cannot hold (probe batch)", () =>
    expectLoadError({ dir: temp.dir({ model: { vocab: 10 } }) }, {
      file: "model.onnx",
      reason: /probe batch of token ids \[2, \d+, 3\] failed/
    }))

  it.live("tokenizer.json that is not JSON", () =>
    expectLoadError({ dir: temp.dir({ tokenizer: null, files: { "tokenizer.json": "{ nope" } }) }, {
      file: "tokenizer.json",
      reason: /not valid JSON/
    }))

  it.live("tokenizer.json of an unsupported kind", () =>
    expectLoadError({ dir: temp.dir({ tokenizer: { ...tokenizerJson(), model: { type: "Mystery" } } }) }, {
      file: "tokenizer.json",
      reason: /unsupported tokenizer/
    }))

  it.live("config.json that is not JSON", () =>
    expectLoadError({ dir: temp.dir({ config: null, files: { "config.json": "max_position_embeddings=512" } }) }, {
      file: "config.json",
      reason: /not valid JSON/
    }))

  it.live("config.json with a wrong type", () =>
    expectLoadError({ dir: temp.dir({ config: { max_position_embeddings: "512" } }) }, {
      file: "config.json",
      reason: /invalid settings/
    }))

  it.live("adabatch.json with an unknown key", () =>
    expectLoadError({ dir: temp.dir({ files: { "adabatch.json": JSON.stringify({ max_len: 128 }) } }) }, {
      file: "adabatch.json",
      reason: /invalid settings.*max_len/s
    }))

  it.live("adabatch.json with an unsupported pooling", () =>
    expectLoadError({ dir: temp.dir({ files: { "adabatch.json": JSON.stringify({ pooling: "max" }) } }) }, {
      file: "adabatch.json",
      reason: /invalid settings/
    }))

  it.live("adabatch.json max_length beyond the model's positions", () =>
    expectLoadError({ dir: temp.dir({ files: { "adabatch.json": JSON.stringify({ max_length: 100 }) } }) }, {
      file: "adabatch.json",
      reason: /maximum length 100 \(adabatch.json max_length\) exceeds the model's 64 positions/
    }))

  it.live("adabatch.json dimension that the model does not produce", () =>
    expectLoadError({ dir: temp.dir({ files: { "adabatch.json": JSON.stringify({ dimension: 384 }) } }) }, {
      file: "model.onnx",
      reason: /produces 16-dimensional embeddings, but adabatch.json declares dimension 384/
    }))

  it.live("sentence-transformers pooling adabatch does not implement", () =>
    expectLoadError({
      dir: temp.dir({ files: { "1_Pooling/config.json": JSON.stringify({ pooling_mode_max_tokens: true }) } })
    }, { file: "1_Pooling/config.json", reason: /unsupported pooling \(pooling_mode_max_tokens\)/ }))

  it.live("bad worker options", () =>
    Effect.gen(function*() {
      const dir = temp.dir({})
      const error = yield* loadError({ dir, workers: 0 })
      assert.match(error.reason, /workers must be a positive integer, got 0/)
      const threads = yield* loadError({ dir, intraOpNumThreads: 1.5 })
      assert.match(threads.reason, /intraOpNumThreads must be a positive integer/)
    }))

  it.live("a good directory loads, with settings from its files", () =>
    Effect.gen(function*() {
      const dir = temp.dir({
        model: { outputs: ["sentence_embedding", "last_hidden_state"], tokenTypes: false },
        files: {
          "adabatch.json": JSON.stringify({ id: "fixture/sentence", max_length: 48, normalize: false }),
          "1_Pooling/config.json": JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }),
          "config_sentence_transformers.json": JSON.stringify({
            prompts: { query: "query: ", passage: "passage: " },
            default_prompt_name: null
          })
        }
      })
      const info = yield* Effect.scoped(
        Effect.map(
          Effect.flatMap(Layer.build(OnnxModel.layer({ dir, workers: 2, intraOpNumThreads: 1 })), (context) =>
            Effect.succeed(Context.get(context, EmbeddingModel))),
          (model) =>
            model.info
        )
      )
      const { layout, ...rest } = info
      assert.strictEqual(layout?.source, "configured")
      assert.deepStrictEqual(rest, {
        id: "fixture/sentence",
        kind: "onnx",
        path: dir,
        dimension: 16,
        maxLength: 48,
        pooling: "cls",
        normalize: false,
        workers: 2,
        intraOpNumThreads: 1,
        prompts: { query: "query: ", passage: "passage: " },
        tokenStates: true
      })
    }))

  it.live("maximum length falls back to sentence_bert_config.json, config.json, tokenizer.json, then 512", () =>
    Effect.gen(function*() {
      const maxLength = (dir: string) =>
        Effect.scoped(Effect.map(OnnxModel.make({ dir, intraOpNumThreads: 1 }), (model) => model.info.maxLength))
      assert.strictEqual(
        yield* maxLength(temp.dir({ files: { "sentence_bert_config.json": JSON.stringify({ max_seq_length: 32 }) } })),
        32
      )
      assert.strictEqual(yield* maxLength(temp.dir({})), 64)
      assert.strictEqual(
        yield* maxLength(
          temp.dir({ config: null, tokenizer: tokenizerJson({ truncationMaxLength: 40 }), model: { positions: 512 } })
        ),
        40
      )
      assert.strictEqual(yield* maxLength(temp.dir({ config: null, model: { positions: 512 } })), 512)
    }))
})
