/**
 * TEI's `POST /tokenize` and `POST /decode`.
 *
 * - `/tokenize`: `{"inputs": string | string[], "add_special_tokens"?: true, "prompt_name"?}` ->
 *   per input, its tokens `{"id", "text", "special", "start", "stop"}` (TEI's `SimpleToken`:
 *   `start`/`stop` are UTF-8 byte offsets into the input, with the prompt before it if any;
 *   `null` for special tokens, whose `text` is their own string).
 * - `/decode`: `{"ids": number[] | number[][], "skip_special_tokens"?: true}` -> one string per list.
 *
 * Neither runs the model, so neither passes through the batching queue (as in TEI).
 *
 * @since 0.1.0
 */
import type { Embedder, EmbeddingModel, ModelError } from "@adabatch/core"
import { Effect, Result } from "effect"
import { HttpServerResponse } from "effect/http"
import { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import * as TeiRequests from "../wire/TeiRequests.js"
import * as Prompts from "./Prompts.js"

type EmbedderService = Embedder.Embedder["Service"]

/** TEI refuses texts longer than this many characters per token of the model's maximum length. */
const MAX_CHARS_PER_TOKEN = 250

const json = (body: unknown) => HttpServerResponse.text(JSON.stringify(body), { contentType: "application/json" })

const tokenizerError = (error: ModelError.TokenizationFailed, field: string, single: boolean): ApiError =>
  new ApiError({
    kind: "tokenization_failed",
    message: `${field}${single ? "" : `[${error.index}]`}: ${error.reason}`,
    param: single ? field : `${field}[${error.index}]`
  })

/** The order of TEI's `SimpleToken` fields. */
const simpleToken = (t: EmbeddingModel.Token) => ({
  id: t.id,
  text: t.text,
  special: t.special,
  start: t.start,
  stop: t.stop
})

/**
 * `/tokenize` once the body is parsed.
 *
 * @since 0.1.0
 * @category handlers
 */
export const tokenize = (
  body: unknown,
  service: EmbedderService,
  config: ServerConfig
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> => {
  const decoded = TeiRequests.decodeTokenize(body)
  if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
  const request = decoded.success
  const checked = typeof request.inputs === "string"
    ? TeiRequests.checkOne("inputs", request.inputs)
    : TeiRequests.checkList("inputs", request.inputs, config.maxClientBatch)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const prompt = Prompts.resolve(request.prompt_name, service.info.prompts, config)
  if (Result.isFailure(prompt)) return Effect.fail(prompt.failure)
  const { inputs, single } = checked.success
  const limit = service.info.maxLength * MAX_CHARS_PER_TOKEN
  for (let i = 0; i < inputs.length; i++) {
    const length = (prompt.success ?? "").length + inputs[i]!.length
    if (length > limit) {
      const param = single ? "inputs" : `inputs[${i}]`
      return Effect.fail(
        new ApiError({
          kind: "invalid_request",
          message: `invalid request: "${param}" must have less than ${limit} characters. Given: ${length}`,
          param
        })
      )
    }
  }
  return service.tokens(inputs, { addSpecialTokens: request.add_special_tokens ?? true, prompt: prompt.success })
    .pipe(
      Effect.mapError((e) => tokenizerError(e, "inputs", single)),
      Effect.map((tokens) => json(tokens.map((list) => list.map(simpleToken))))
    )
}

/**
 * `/decode` once the body is parsed.
 *
 * @since 0.1.0
 * @category handlers
 */
export const decode = (
  body: unknown,
  service: EmbedderService,
  config: ServerConfig
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> => {
  const decoded = TeiRequests.decodeDecode(body)
  if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
  const ids = decoded.success.ids
  const single = ids.length === 0 || typeof ids[0] === "number"
  const checked = single
    ? TeiRequests.checkOne("ids", ids as ReadonlyArray<number>)
    : TeiRequests.checkList("ids", ids as ReadonlyArray<ReadonlyArray<number>>, config.maxClientBatch)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  return service.decode(checked.success.inputs, decoded.success.skip_special_tokens ?? true).pipe(
    Effect.mapError((e) => tokenizerError(e, "ids", single)),
    Effect.map(json)
  )
}
