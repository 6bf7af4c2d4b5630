/**
 * Token states of whole requests (TEI's `/embed_all`): the model's `last_hidden_state` for each
 * token of each input. A request's inputs run in batches of their own, straight on the model's
 * workers (beside the engine's batches), cut to the engine's current caps; the engine's queue
 * still decides whether the request is taken at all.
 *
 * @since 0.1.0
 */
import { Duration, Effect } from "effect"
import type { BatcherError } from "./batching/BatchError.js"
import { DeadlineExceeded } from "./batching/BatchError.js"
import type { EmbeddingModel, Encoded, Input, TokenizeOptions } from "./model/EmbeddingModel.js"
import type { InferenceFailed, InputTooLong, TokenizationFailed, TokenizerWorkerFailed } from "./model/ModelError.js"
import { Unsupported } from "./model/ModelError.js"

/**
 * The token states of one call: per input, one vector per token.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenStatesResult {
  readonly states: ReadonlyArray<ReadonlyArray<Float32Array>>
  /** Sum of the inputs' token counts. */
  readonly tokens: number
  readonly inferenceMs: number
}

/**
 * Everything a token-states call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type TokenStatesError =
  | InputTooLong
  | TokenizationFailed
  | TokenizerWorkerFailed
  | InferenceFailed
  | BatcherError
  | Unsupported

/**
 * Splits encoded inputs into runs within `maxItems` inputs and `maxCost` padded tokens each (an
 * input over `maxCost` runs alone).
 *
 * @since 0.1.0
 * @category batching
 */
export const chunk = (
  encoded: ReadonlyArray<Encoded>,
  maxItems: number,
  maxCost: number
): Array<Array<Encoded>> => {
  const out: Array<Array<Encoded>> = []
  let current: Array<Encoded> = []
  let longest = 0
  for (const e of encoded) {
    const next = Math.max(longest, e.ids.length)
    if (current.length > 0 && (current.length >= maxItems || next * (current.length + 1) > maxCost)) {
      out.push(current)
      current = []
      longest = 0
    }
    current.push(e)
    longest = Math.max(longest, e.ids.length)
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends TokenizeOptions {
  /** Caps of one run (the engine's current ones). */
  readonly maxItems: number
  readonly maxCost: number
  /** Time budget of the whole call; none when absent. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * Tokenizes `inputs` and computes their token states in runs of their own.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  model: EmbeddingModel["Service"],
  inputs: ReadonlyArray<Input>,
  options: RunOptions
): Effect.Effect<TokenStatesResult, TokenStatesError> => {
  const embedTokens = model.embedTokens
  if (embedTokens === undefined) {
    return Effect.fail(
      new Unsupported({
        reason: `the model ${model.info.id} gives no token states: its graph has no last_hidden_state or ` +
          `token_embeddings output`
      })
    )
  }
  const work = Effect.flatMap(model.tokenize(inputs, options), (encoded) => {
    const start = performance.now()
    return Effect.map(
      Effect.forEach(chunk(encoded, Math.max(1, options.maxItems), options.maxCost), embedTokens),
      (runs): TokenStatesResult => ({
        states: runs.flat(),
        tokens: encoded.reduce((n, e) => n + e.ids.length, 0),
        inferenceMs: performance.now() - start
      })
    )
  })
  if (options.timeout === undefined) return work
  const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
  return Effect.timeoutOrElse(work, {
    duration: Duration.millis(timeoutMs),
    orElse: () => Effect.fail(new DeadlineExceeded({ waitedMs: timeoutMs, timeoutMs }))
  })
}
