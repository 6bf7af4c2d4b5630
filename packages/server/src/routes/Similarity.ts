/**
 * TEI's `POST /similarity` (an embedding-model route): `{"inputs": {"source_sentence", "sentences"},
 * "parameters"?: {"prompt_name"?, "truncate"?, "truncation_direction"?}}` -> the cosine similarity of
 * the source sentence with each sentence, in order. The sentences and the source are embedded as one
 * request (one more input than `sentences`, which counts against the client batch limit, as in TEI).
 *
 * Also TEI's answers for the routes of other model types (`/predict`, `/rerank`, `/embed_sparse`):
 * an embedding model answers them 424 `Backend`, as TEI does.
 *
 * @since 0.1.0
 */
import type { Embedder } from "@adabatch/core"
import { Effect, Result, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import { decoder } from "../wire/Requests.js"
import * as TeiRequests from "../wire/TeiRequests.js"
import * as Prompts from "./Prompts.js"

type EmbedderService = Embedder.Embedder["Service"]

const Text = Schema.String.annotate({ message: "must be a string" })

/**
 * `POST /similarity`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SimilarityRequest = Schema.Struct({
  inputs: Schema.Struct({
    source_sentence: Text,
    sentences: Schema.Array(Text).annotate({ message: "must be an array of strings" })
  }),
  parameters: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    prompt_name: Schema.optionalKey(Schema.NullOr(Text)),
    truncate: Schema.optionalKey(Schema.NullOr(Schema.Boolean).annotate({ message: "must be true or false" })),
    truncation_direction: Schema.optionalKey(Schema.NullOr(Schema.Literals(["Left", "Right", "left", "right"])))
  })))
})

const decodeSimilarity = decoder(SimilarityRequest)

const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/**
 * `/similarity` once the body is parsed; `fail` maps the engine's errors (the server's mapping).
 *
 * @since 0.1.0
 * @category handlers
 */
export const handle = (
  json: unknown,
  service: EmbedderService,
  config: ServerConfig,
  fail: (error: Embedder.EmbedError) => ApiError
): Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse; readonly inputs: number }, ApiError> => {
  const decoded = decodeSimilarity(json)
  if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
  const { inputs, parameters } = decoded.success
  if (inputs.sentences.length === 0) {
    return Effect.fail(
      new ApiError({ kind: "empty_input", message: "`inputs.sentences` cannot be empty", param: "inputs.sentences" })
    )
  }
  const source = TeiRequests.checkOne("inputs.source_sentence", inputs.source_sentence)
  if (Result.isFailure(source)) return Effect.fail(source.failure)
  // the source sentence is embedded with the others: it counts in the client batch limit
  const checked = TeiRequests.checkList("inputs.sentences", inputs.sentences, config.maxClientBatch - 1)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const texts = [inputs.source_sentence, ...inputs.sentences]
  const prompt = Prompts.resolve(parameters?.prompt_name, service.info.prompts, config)
  if (Result.isFailure(prompt)) return Effect.fail(prompt.failure)
  return service.embed(texts, {
    truncate: parameters?.truncate ?? config.autoTruncate,
    direction: TeiRequests.direction(parameters?.truncation_direction),
    prompt: prompt.success
  }).pipe(
    Effect.mapError(fail),
    Effect.map((result) => {
      const [source, ...others] = result.embeddings
      const scores = others.map((v) => cosine(source!, v))
      return {
        response: HttpServerResponse.text(JSON.stringify(scores), { contentType: "application/json" }),
        inputs: texts.length
      }
    })
  )
}

/**
 * TEI's answer to a route of another model type: 424 `Backend`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const otherModelType = (route: "/predict" | "/rerank" | "/embed_sparse"): ApiError =>
  new ApiError({
    kind: "unsupported",
    message: route === "/predict"
      ? "Model is not a classifier model"
      : route === "/rerank"
      ? "model is not a re-ranker model"
      : "Model is not an embedding model with SPLADE pooling"
  })
