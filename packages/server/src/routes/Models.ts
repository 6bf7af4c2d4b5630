/**
 * OpenAI's `GET /v1/models` and `GET /v1/models/{id}`: the one model this server serves, under
 * its served name (`--served-model-name`, else the model's id).
 *
 * The `model` of a `/v1/embeddings` request is not checked against it: whatever name a client
 * sends (`text-embedding-3-small`, the served name, anything) is answered by the loaded model, and
 * the answer's `model` is the served name; a name other than the served one is logged once as a
 * warning. `user` is accepted and ignored (neither logged nor stored). This is TEI's behaviour.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { ApiError } from "../ApiError.js"

/** `created` of the model object: when this module was loaded (the server's start), in Unix seconds. */
const startedAt = Math.floor(Date.now() / 1000)

const modelObject = (name: string) => ({ id: name, object: "model", created: startedAt, owned_by: "adabatch" })

const json = (body: unknown) => HttpServerResponse.text(JSON.stringify(body), { contentType: "application/json" })

/**
 * `GET /v1/models`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const list = (servedName: string): HttpServerResponse.HttpServerResponse =>
  json({ object: "list", data: [modelObject(servedName)] })

/**
 * `GET /v1/models/{id}`: the model object, or OpenAI's 404 `model_not_found`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const retrieve = (
  servedName: string,
  id: string
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> =>
  id === servedName
    ? Effect.succeed(json(modelObject(servedName)))
    : Effect.fail(
      new ApiError({
        kind: "model_not_found",
        message: `The model ${JSON.stringify(id)} does not exist: this server serves ${JSON.stringify(servedName)}`,
        param: "model"
      })
    )

/** Requested names already warned about (bounded: a client cycling through names logs 100 at most). */
const warned = new Set<string>()

/**
 * Logs once per name that a request asked for a model other than the served one (it is served
 * anyway).
 *
 * @since 0.1.0
 * @category handlers
 */
export const warnModel = (requested: string | null | undefined, servedName: string): Effect.Effect<void> => {
  if (requested === null || requested === undefined || requested === servedName || warned.has(requested)) {
    return Effect.void
  }
  if (warned.size >= 100) return Effect.void
  warned.add(requested)
  return Effect.logWarning(
    `a request asked for model ${JSON.stringify(requested)}; this server serves ${JSON.stringify(servedName)} ` +
      `and answers with it (send model: ${JSON.stringify(servedName)} or leave it out)`
  )
}
