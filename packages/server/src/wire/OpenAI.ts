/**
 * OpenAI's embeddings response (`POST /v1/embeddings`), written straight to bytes: `{"object":
 * "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}`, each
 * embedding a JSON array of numbers or, with `encoding_format: "base64"`, the base64 of its
 * little-endian float32 bytes. `dimensions` cuts each vector to its first values, then
 * re-normalises it, as OpenAI's models do: `Embedder.embed` does it (core's `VectorShape`), with
 * `normalize: true` (OpenAI's vectors are always unit length).
 *
 * @since 0.1.0
 */
import type { Embedder, EmbeddingModel } from "@adabatch/core"
import { ApiError } from "../ApiError.js"
import * as Encoding from "./Encoding.js"
import type { OpenAIEmbeddingRequest } from "./Requests.js"

/**
 * Writes the response of one request from its vectors and the embedding result.
 *
 * @since 0.1.0
 * @category models
 */
export type Render = (vectors: ReadonlyArray<Float32Array>, result: Embedder.EmbedResult) => Uint8Array

/**
 * What one request asks of `Embedder.embed` and how its answer is written.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly options: Embedder.EmbedOptions
  readonly render: Render
}

/**
 * The plan of one request (`model` is the served model name, `autoTruncate` the default of
 * `truncate`), or the error that refuses its `dimensions` (more than the model has).
 *
 * @since 0.1.0
 * @category planning
 */
export const plan = (
  body: OpenAIEmbeddingRequest,
  info: EmbeddingModel.ModelInfo,
  model: string,
  autoTruncate: boolean
): Plan | ApiError => {
  const dimension = info.dimension
  const dimensions = body.dimensions ?? undefined
  if (dimensions !== undefined && dimensions > dimension) {
    return new ApiError({
      kind: "invalid_request",
      message: `invalid request: "dimensions" is ${dimensions}, more than the model's ${dimension} dimensions`,
      param: "dimensions"
    })
  }
  const base64 = body.encoding_format === "base64"
  const tail = `],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":`
  const render: Render = (vectors, result) => {
    const writer = new Encoding.JsonWriter()
    writer.raw("{\"object\":\"list\",\"data\":[")
    for (let i = 0; i < vectors.length; i++) {
      writer.raw(i === 0 ? "{\"object\":\"embedding\",\"index\":" : ",{\"object\":\"embedding\",\"index\":")
      writer.raw(`${i},"embedding":`)
      if (base64) writer.raw(`"${Encoding.vectorBase64(vectors[i]!)}"`)
      else writer.vector(vectors[i]!, i)
      writer.char(125)
    }
    return writer.raw(`${tail}${result.tokens},"total_tokens":${result.tokens}}}`).finish()
  }
  return { options: { truncate: body.truncate ?? autoTruncate, normalize: true, dimensions }, render }
}
