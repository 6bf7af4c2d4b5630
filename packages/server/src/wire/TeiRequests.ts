/**
 * The request bodies of TEI's embedding-model routes (`/embed`, `/embed_all`, `/tokenize`,
 * `/decode`) as Schemas, and the checks TEI's server makes on their inputs.
 *
 * Inputs follow TEI's untagged `Input`: a string, an array of token ids (one input), or an array
 * of strings and token-id arrays (a batch). `truncation_direction` takes `Left`/`Right` as in TEI's
 * document, and `left`/`right` as TEI's server also does.
 *
 * @since 0.1.0
 */
import type { EmbeddingModel } from "@adabatch/core"
import { Result, Schema } from "effect"
import { ApiError, invalidField } from "../ApiError.js"
import { decoder, loneSurrogate } from "./Requests.js"

type Input = EmbeddingModel.Input

const Text = Schema.String.annotate({ message: "must be a string" })

const TokenIdMessage = "must be a token id (an integer from 0 to 4294967295)"

const TokenId = Schema.Number.annotate({ message: TokenIdMessage }).check(
  Schema.isInt({ message: TokenIdMessage }),
  Schema.isBetween({ minimum: 0, maximum: 4_294_967_295 }, { message: TokenIdMessage })
)

const TokenIds = Schema.Array(TokenId).annotate({ message: "must be an array of token ids" })

const InputItem = Schema.Union([Text, TokenIds]).annotate({ message: "must be a string or an array of token ids" })

const Inputs = Schema.Union([Text, TokenIds, Schema.Array(InputItem)]).annotate({
  message: "must be a string, an array of token ids, or an array of strings and token-id arrays"
})

const OptionalBoolean = Schema.optionalKey(
  Schema.NullOr(Schema.Boolean).annotate({ message: "must be true or false" })
)

const DirectionMessage = "must be \"Left\" or \"Right\""

const Direction = Schema.optionalKey(
  Schema.NullOr(
    Schema.Literals(["Left", "Right", "left", "right"]).annotate({ message: DirectionMessage })
  ).annotate({ message: DirectionMessage })
)

const PromptName = Schema.optionalKey(Schema.NullOr(Schema.String).annotate({ message: "must be a string" }))

const DimensionsMessage = "must be an integer >= 0"

const Dimensions = Schema.optionalKey(
  Schema.NullOr(
    Schema.Number.annotate({ message: DimensionsMessage }).check(
      Schema.isInt({ message: DimensionsMessage }),
      Schema.isGreaterThanOrEqualTo(0, { message: DimensionsMessage })
    )
  ).annotate({ message: DimensionsMessage })
)

/**
 * `POST /embed` (also `POST /` and `/invocations`). Unknown fields are ignored.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbedRequest = Schema.Struct({
  inputs: Inputs,
  normalize: OptionalBoolean,
  truncate: OptionalBoolean,
  truncation_direction: Direction,
  prompt_name: PromptName,
  dimensions: Dimensions
})

/**
 * @since 0.1.0
 * @category models
 */
export type EmbedRequest = typeof EmbedRequest.Type

/**
 * `POST /embed_all`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbedAllRequest = Schema.Struct({
  inputs: Inputs,
  truncate: OptionalBoolean,
  truncation_direction: Direction,
  prompt_name: PromptName
})

/**
 * @since 0.1.0
 * @category models
 */
export type EmbedAllRequest = typeof EmbedAllRequest.Type

/**
 * `POST /tokenize`: `add_special_tokens` defaults to true.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TokenizeRequest = Schema.Struct({
  inputs: Schema.Union([Text, Schema.Array(Text)]).annotate({ message: "must be a string or an array of strings" }),
  add_special_tokens: OptionalBoolean,
  prompt_name: PromptName
})

/**
 * @since 0.1.0
 * @category models
 */
export type TokenizeRequest = typeof TokenizeRequest.Type

/**
 * `POST /decode`: `ids` is one list of token ids or a list of them; `skip_special_tokens` defaults
 * to true.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecodeRequest = Schema.Struct({
  ids: Schema.Union([TokenIds, Schema.Array(TokenIds)]).annotate({
    message: "must be an array of token ids or an array of them"
  }),
  skip_special_tokens: OptionalBoolean
})

/**
 * @since 0.1.0
 * @category models
 */
export type DecodeRequest = typeof DecodeRequest.Type

const isPlainObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

const isStringArray = (value: unknown): value is ReadonlyArray<string> => {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false
  return true
}

const isOptionalBoolean = (o: Record<string, unknown>, key: string): boolean =>
  !(key in o) || o[key] === null || typeof o[key] === "boolean"

const ABSENT_IN_FAST_PATH = ["truncation_direction", "prompt_name", "dimensions"]

/**
 * The common `/embed` body (texts, `normalize` and `truncate` only) without the Schema machinery;
 * `undefined` sends the body through the Schema.
 */
const fastEmbed = (json: unknown): EmbedRequest | undefined => {
  if (!isPlainObject(json)) return undefined
  const inputs = json.inputs
  if (!(typeof inputs === "string" || isStringArray(inputs))) return undefined
  if (!isOptionalBoolean(json, "normalize") || !isOptionalBoolean(json, "truncate")) return undefined
  for (const key of ABSENT_IN_FAST_PATH) if (key in json && json[key] !== null) return undefined
  const out: { inputs: string | ReadonlyArray<string>; normalize?: boolean | null; truncate?: boolean | null } = {
    inputs
  }
  if ("normalize" in json) out.normalize = json.normalize as boolean | null
  if ("truncate" in json) out.truncate = json.truncate as boolean | null
  return out
}

const isTokenId = (x: unknown): boolean => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 4_294_967_295

/**
 * What is wrong with `inputs`, naming the exact element (a union's own error would name the first
 * alternative's complaint), or `undefined`.
 */
const inputsIssue = (inputs: unknown): ApiError | undefined => {
  if (typeof inputs === "string" || inputs === undefined) return undefined
  if (!Array.isArray(inputs)) {
    return invalidField("inputs", "must be a string, an array of token ids, or an array of strings and token-id arrays")
  }
  if (inputs.length > 0 && typeof inputs[0] === "number") {
    const bad = inputs.findIndex((x) => !isTokenId(x))
    return bad === -1 ? undefined : invalidField(`inputs[${bad}]`, TokenIdMessage)
  }
  for (let i = 0; i < inputs.length; i++) {
    const item: unknown = inputs[i]
    if (typeof item === "string") continue
    if (!Array.isArray(item)) return invalidField(`inputs[${i}]`, "must be a string or an array of token ids")
    const bad = item.findIndex((x) => !isTokenId(x))
    if (bad !== -1) {
      return typeof item[bad] === "number"
        ? invalidField(`inputs[${i}][${bad}]`, TokenIdMessage)
        : invalidField(`inputs[${i}]`, "must be a string or an array of token ids")
    }
  }
  return undefined
}

/** `decode`, after the exact check of `inputs` (for bodies that are objects). */
const withInputs = <A>(decode: (json: unknown) => Result.Result<A, ApiError>) => (json: unknown) => {
  const issue = isPlainObject(json) ? inputsIssue(json.inputs) : undefined
  return issue === undefined ? decode(json) : Result.fail(issue)
}

const decodeEmbedBody = withInputs(decoder(EmbedRequest))

/**
 * Decodes a `/embed` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEmbed = (json: unknown): Result.Result<EmbedRequest, ApiError> => {
  const fast = fastEmbed(json)
  return fast === undefined ? decodeEmbedBody(json) : Result.succeed(fast)
}

/**
 * Decodes a `/embed_all` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEmbedAll = withInputs(decoder(EmbedAllRequest))

/**
 * Decodes a `/tokenize` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTokenize = decoder(TokenizeRequest)

/**
 * Decodes a `/decode` body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeDecode = decoder(DecodeRequest)

/**
 * A request's inputs after TEI's checks: not empty, none empty, at most the client batch limit.
 * `single`: the request sent one input rather than a list.
 *
 * @since 0.1.0
 * @category models
 */
export class Checked<A> {
  constructor(readonly inputs: ReadonlyArray<A>, readonly single: boolean) {}
}

const empty = (param: string) => new ApiError({ kind: "empty_input", message: `\`${param}\` cannot be empty`, param })

const isEmpty = (input: Input): boolean => input.length === 0

/**
 * A 400 `Validation` naming the input when a text holds a lone UTF-16 surrogate: TEI's JSON parser
 * (serde_json) refuses `"\ud800"` as a syntax error, which its server answers 400; a text the
 * tokenizer would silently change is never embedded here either.
 */
const malformed = (param: string, input: Input): ApiError | undefined => {
  if (typeof input !== "string") return undefined
  const wrong = loneSurrogate(input)
  return wrong === undefined
    ? undefined
    : new ApiError({ kind: "invalid_json", message: `invalid request: "${param}" ${wrong}`, param })
}

/**
 * Checks a list of inputs (`field` names it in errors): TEI's `Empty` (400) for an empty list or
 * an empty input, `Validation` (422) for more than `maxInputs`, `Validation` (400) for a text that
 * holds a lone UTF-16 surrogate.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkList = <A extends Input>(
  field: string,
  list: ReadonlyArray<A>,
  maxInputs: number
): Result.Result<Checked<A>, ApiError> => {
  if (list.length === 0) return Result.fail(empty(field))
  if (list.length > maxInputs) {
    return Result.fail(
      new ApiError({
        kind: "too_many_inputs",
        message: `"${field}" has ${list.length} inputs, more than the limit of ${maxInputs} per request ` +
          `(ADABATCH_MAX_CLIENT_BATCH); split it into several requests`,
        param: field
      })
    )
  }
  for (let i = 0; i < list.length; i++) {
    if (isEmpty(list[i]!)) return Result.fail(empty(`${field}[${i}]`))
    const refused = malformed(`${field}[${i}]`, list[i]!)
    if (refused !== undefined) return Result.fail(refused)
  }
  return Result.succeed(new Checked(list, false))
}

/**
 * Checks `inputs` as TEI reads them: a string or one array of token ids is a single input (an
 * empty array counts as one empty input, as in TEI), any other array is a batch.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkInputs = (
  field: string,
  inputs: string | ReadonlyArray<number> | ReadonlyArray<string | ReadonlyArray<number>>,
  maxInputs: number
): Result.Result<Checked<Input>, ApiError> => {
  const single = typeof inputs === "string" || inputs.length === 0 || typeof inputs[0] === "number"
  if (!single) return checkList(field, inputs as ReadonlyArray<Input>, maxInputs)
  return checkOne(field, inputs as Input)
}

/**
 * Checks one input sent on its own (`field` names it in errors): TEI's `Empty` (400) when it is
 * empty, a 400 `Validation` when a text holds a lone UTF-16 surrogate.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkOne = <A extends Input>(field: string, input: A): Result.Result<Checked<A>, ApiError> => {
  if (isEmpty(input)) return Result.fail(empty(field))
  const refused = malformed(field, input)
  return refused === undefined ? Result.succeed(new Checked([input], true)) : Result.fail(refused)
}

/**
 * The `truncation_direction` of a body, as the tokenizer takes it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const direction = (value: string | null | undefined): "left" | "right" =>
  value === "Left" || value === "left" ? "left" : "right"
