/**
 * TEI's `POST /embed` (also served at `POST /` and `/invocations`, as TEI does for Inference
 * Endpoints and SageMaker): texts or token ids in, one vector per input out, with `normalize`,
 * `truncate`, `truncation_direction`, `prompt_name` and `dimensions` (cut to the first
 * `dimensions` values, then re-normalised unless `normalize` is false, as TEI does): the fields are
 * checked here and passed to `Embedder.embed`, which shapes the vectors (core's `VectorShape`).
 *
 * @since 0.1.0
 */
import type { Embedder, EmbeddingModel } from "@adabatch/core"
import { Result } from "effect"
import { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import * as Encoding from "../wire/Encoding.js"
import * as TeiRequests from "../wire/TeiRequests.js"
import * as Prompts from "./Prompts.js"

/**
 * What the embedding pipeline needs for one `/embed` request.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedPlan {
  readonly checked: TeiRequests.Checked<EmbeddingModel.Input>
  readonly options: Embedder.EmbedOptions
  readonly render: (vectors: ReadonlyArray<Float32Array>) => Uint8Array
}

/**
 * Checks `dimensions` against the model's (TEI: 0 and more than the model has are `Validation`).
 *
 * @since 0.1.0
 * @category checks
 */
export const checkDimensions = (dimensions: number | null | undefined, dimension: number): ApiError | undefined => {
  if (dimensions === null || dimensions === undefined) return undefined
  if (dimensions === 0) {
    return new ApiError({
      kind: "invalid_request",
      message: "invalid request: \"dimensions\" must be positive",
      param: "dimensions"
    })
  }
  if (dimensions > dimension) {
    return new ApiError({
      kind: "invalid_request",
      message: `invalid request: "dimensions" is ${dimensions}, more than the model's ${dimension} dimensions`,
      param: "dimensions"
    })
  }
  return undefined
}

/**
 * The plan of one `/embed` request, or the error that refuses it.
 *
 * @since 0.1.0
 * @category planning
 */
export const plan = (
  body: TeiRequests.EmbedRequest,
  info: EmbeddingModel.ModelInfo,
  config: ServerConfig
): ApiError | EmbedPlan => {
  const checked = TeiRequests.checkInputs("inputs", body.inputs, config.maxClientBatch)
  if (Result.isFailure(checked)) return checked.failure
  const prompt = Prompts.resolve(body.prompt_name, info.prompts, config)
  if (Result.isFailure(prompt)) return prompt.failure
  const refused = checkDimensions(body.dimensions, info.dimension)
  if (refused !== undefined) return refused
  return {
    checked: checked.success,
    options: {
      truncate: body.truncate ?? config.autoTruncate,
      direction: TeiRequests.direction(body.truncation_direction),
      prompt: prompt.success,
      normalize: body.normalize ?? true,
      dimensions: body.dimensions ?? undefined
    },
    render: Encoding.matrixJson
  }
}
