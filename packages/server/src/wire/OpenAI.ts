/**
 * OpenAI's embeddings response (`POST /v1/embeddings`), written straight to bytes: `{"object":
 * "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}`, each
 * embedding a JSON array of numbers or, with `encoding_format: "base64"`, the base64 of its
 * little-endian float32 bytes. `dimensions` cuts each vector to its first values, then
 * re-normalises it, as OpenAI's models do.
 *
 * @since 0.1.0
 */
import type { Embedder, EmbeddingModel } from "@adabatch/core"
import { ApiError } from "../ApiError.js"
import * as Embed from "../routes/Embed.js"
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
 * The response writer of one request (`model` is the served model name), or the error that refuses
 * its `dimensions` (more than the model has).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderer = (
  body: OpenAIEmbeddingRequest,
  info: EmbeddingModel.ModelInfo,
  model: string
): Render | ApiError => {
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
  const cut = dimensions === undefined || dimensions === dimension ? undefined : dimensions
  const tail = `],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":`
  return (embeddings, result) => {
    const vectors = Embed.shape(embeddings, info.normalize, true, cut)
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
}
