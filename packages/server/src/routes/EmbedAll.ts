/**
 * TEI's `POST /embed_all`: the token states of each input (`[[[...]]]`, one vector per token,
 * special tokens included), from the model's `last_hidden_state`. A model without a token-level
 * output answers 424 `Backend`, as TEI does for the models it cannot serve this route for.
 *
 * @since 0.1.0
 */
import type { Embedder, TokenStates } from "@adabatch/core"
import { Effect, Result } from "effect"
import { HttpServerResponse } from "effect/http"
import type { ApiError } from "../ApiError.js"
import type { ServerConfig } from "../config/index.js"
import * as Encoding from "../wire/Encoding.js"
import * as TeiRequests from "../wire/TeiRequests.js"
import * as Prompts from "./Prompts.js"

type EmbedderService = Embedder.Embedder["Service"]

/**
 * `[[[...],...],...]`: per input, one JSON array per token.
 *
 * @since 0.1.0
 * @category rendering
 */
export const statesJson = (states: ReadonlyArray<ReadonlyArray<Float32Array>>): Uint8Array => {
  const writer = new Encoding.JsonWriter()
  writer.char(91)
  for (let i = 0; i < states.length; i++) {
    if (i > 0) writer.char(44)
    writer.char(91)
    const rows = states[i]!
    for (let t = 0; t < rows.length; t++) {
      if (t > 0) writer.char(44)
      writer.vector(rows[t]!, i)
    }
    writer.char(93)
  }
  return writer.char(93).finish()
}

/**
 * The handler's work once the body is parsed: check, run, encode. `fail` maps the engine's
 * errors to API errors (the server's mapping).
 *
 * @since 0.1.0
 * @category handlers
 */
export const handle = (
  json: unknown,
  service: EmbedderService,
  config: ServerConfig,
  fail: (error: TokenStates.TokenStatesError, single: boolean) => ApiError
): Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse; readonly inputs: number }, ApiError> => {
  const body = TeiRequests.decodeEmbedAll(json)
  if (Result.isFailure(body)) return Effect.fail(body.failure)
  const checked = TeiRequests.checkInputs("inputs", body.success.inputs, config.maxClientBatch)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const prompt = Prompts.resolve(body.success.prompt_name, service.info.prompts, config)
  if (Result.isFailure(prompt)) return Effect.fail(prompt.failure)
  const { inputs, single } = checked.success
  return service.embedAll(inputs, {
    truncate: body.success.truncate ?? config.autoTruncate,
    direction: TeiRequests.direction(body.success.truncation_direction),
    prompt: prompt.success,
    timeout: config.requestTimeoutMs
  }).pipe(
    Effect.mapError((e) => fail(e, single)),
    Effect.map((result) => ({
      response: HttpServerResponse.uint8Array(statesJson(result.states), { contentType: "application/json" }),
      inputs: inputs.length
    }))
  )
}
