/**
 * The `Embedder`'s failures as API errors: which kind (and so which status and `error_type`) each
 * is answered with, and which request field it names.
 *
 * @since 0.1.0
 */
import type { TokenStates } from "@adabatch/core"
import { ApiError } from "../ApiError.js"

/**
 * Maps an `Embedder` failure to its API error. `field` is the request's input field, `single`
 * whether it was a lone string (so `InputTooLong` names `inputs` rather than `inputs[0]`).
 *
 * @since 0.1.0
 * @category errors
 */
export const fromEmbedError = (error: TokenStates.TokenStatesError, field: string, single: boolean): ApiError => {
  switch (error._tag) {
    case "Unsupported":
      return new ApiError({ kind: "unsupported", message: error.message })
    case "InputTooLong":
      return new ApiError({
        kind: "input_too_long",
        message: error.message,
        param: single ? field : `${field}[${error.index}]`
      })
    case "TokenizationFailed":
      return new ApiError({
        kind: "tokenization_failed",
        message: error.message,
        param: single ? field : `${field}[${error.index}]`
      })
    case "CostExceedsBudget":
      return new ApiError({
        kind: "input_too_long",
        message: `an input has ${error.cost} tokens, more than the batch token budget of ${error.budget} ` +
          `(ADABATCH_MAX_BATCH_TOKENS); send truncate: true or shorten it`,
        param: field
      })
    case "QueueFull":
    case "Overloaded":
      return new ApiError({
        kind: "queue_full",
        message: `model is overloaded: ${error.message}`,
        retryAfterMs: error.retryAfterMs
      })
    case "DeadlineExceeded":
      return new ApiError({ kind: "deadline_exceeded", message: `request timed out: ${error.message}` })
    case "ShuttingDown":
      return new ApiError({
        kind: "shutting_down",
        message: `server is ${error.message}`,
        retryAfterMs: 1000
      })
    case "InferenceFailed":
    case "TokenizerWorkerFailed":
      return new ApiError({ kind: "inference_failed", message: error.message })
    case "BatchShapeMismatch":
      return new ApiError({ kind: "inference_failed", message: `model error: ${error.message}` })
  }
}
