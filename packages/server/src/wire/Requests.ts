/**
 * The request bodies of the embedding routes, as Schemas, and their decoding from raw body text
 * into `ApiError`s that name the field at fault and what was expected.
 *
 * @since 0.1.0
 */
import { Result, Schema, SchemaIssue } from "effect"
import { ApiError, invalidField } from "../ApiError.js"

const Text = Schema.String.annotate({ message: "must be a string" })

const Inputs = Schema.Union([Text, Schema.Array(Text).annotate({ message: "must be an array of strings" })])
  .annotate({ message: "must be a string or an array of strings" })

const OptionalBoolean = Schema.optionalKey(
  Schema.NullOr(Schema.Boolean).annotate({ message: "must be true or false" })
)

/**
 * `POST /embed` (TEI): `{"inputs": string | string[], "normalize"?: boolean, "truncate"?: boolean}`.
 * Unknown fields are ignored.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TeiEmbedRequest = Schema.Struct({
  inputs: Inputs,
  normalize: OptionalBoolean,
  truncate: OptionalBoolean
})

/**
 * @since 0.1.0
 * @category models
 */
export type TeiEmbedRequest = typeof TeiEmbedRequest.Type

const EncodingFormatMessage = "must be \"float\" or \"base64\""

const PositiveIntMessage = "must be a positive integer"

/**
 * `POST /v1/embeddings` (OpenAI): `{"input": string | string[], "model"?: string,
 * "encoding_format"?: "float" | "base64", "dimensions"?: number, "user"?: string,
 * "truncate"?: boolean}`. Unknown fields are ignored; `model` and `user` are accepted and not used
 * (the loaded model answers). `truncate` is this server's extension, as on `/embed` (OpenAI has no
 * such field and TEI's OpenAI route always uses its `--auto-truncate`): absent or `null`, the
 * server's `ADABATCH_AUTO_TRUNCATE` decides.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OpenAIEmbeddingRequest = Schema.Struct({
  input: Inputs,
  model: Schema.optionalKey(Schema.NullOr(Schema.String).annotate({ message: "must be a string" })),
  encoding_format: Schema.optionalKey(
    Schema.NullOr(Schema.Literals(["float", "base64"]).annotate({ message: EncodingFormatMessage }))
      .annotate({ message: EncodingFormatMessage })
  ),
  dimensions: Schema.optionalKey(
    Schema.NullOr(
      Schema.Number.annotate({ message: PositiveIntMessage }).check(
        Schema.isInt({ message: PositiveIntMessage }),
        Schema.isGreaterThan(0, { message: PositiveIntMessage })
      )
    ).annotate({ message: PositiveIntMessage })
  ),
  user: Schema.optionalKey(Schema.NullOr(Schema.String).annotate({ message: "must be a string" })),
  truncate: OptionalBoolean
})

/**
 * @since 0.1.0
 * @category models
 */
export type OpenAIEmbeddingRequest = typeof OpenAIEmbeddingRequest.Type

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) =>
    issue._tag === "MissingKey"
      ? "is required"
      : issue._tag === "InvalidType" && issue.ast._tag === "Objects"
      ? "must be a JSON object"
      : SchemaIssue.defaultLeafHook(issue)
})

const issueToError = (issue: SchemaIssue.Issue): ApiError => {
  const first = formatter(issue).issues[0]
  if (first === undefined) return new ApiError({ kind: "invalid_request", message: "invalid request body" })
  const path = (first.path ?? []).map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p))
  if (path.length === 0) {
    return new ApiError({ kind: "invalid_request", message: `invalid request: the body ${first.message}` })
  }
  return invalidField(formatPath(path), first.message)
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Decodes a request body as UTF-8 (a leading byte order mark is dropped). Bytes that are not valid
 * UTF-8 (stray or truncated sequences, overlong encodings, encoded surrogates) give a 400 rather
 * than being replaced by U+FFFD, which would embed text the client never sent.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUtf8 = (bytes: ArrayBuffer | Uint8Array): Result.Result<string, ApiError> => {
  try {
    return Result.succeed(utf8.decode(bytes))
  } catch {
    return Result.fail(
      new ApiError({
        kind: "invalid_json",
        message: "invalid UTF-8: the request body is not valid UTF-8; send JSON encoded as UTF-8"
      })
    )
  }
}

/**
 * Parses body text as JSON; a syntax error becomes a 400 that quotes the parser.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseJson = (text: string): Result.Result<unknown, ApiError> => {
  if (text.length === 0) {
    return Result.fail(new ApiError({ kind: "invalid_json", message: "invalid JSON: the request body is empty" }))
  }
  try {
    return Result.succeed(JSON.parse(text))
  } catch (e) {
    return Result.fail(
      new ApiError({
        kind: "invalid_json",
        message: `invalid JSON in the request body: ${e instanceof Error ? e.message : String(e)}`
      })
    )
  }
}

/**
 * A body decoder for `schema`: its failures become a 400 `ApiError` naming the first field at
 * fault and what it must be.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decoder = <S extends Schema.Decoder<unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (json: unknown): Result.Result<S["Type"], ApiError> =>
    Result.mapError(decode(json), (e) => issueToError(e.issue))
}

const decodeTeiBody = decoder(TeiEmbedRequest)

const decodeOpenAIBody = decoder(OpenAIEmbeddingRequest)

const isStringArray = (value: unknown): value is ReadonlyArray<string> => {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") return false
  }
  return true
}

const isInputs = (value: unknown): value is string | ReadonlyArray<string> =>
  typeof value === "string" || isStringArray(value)

/** The key is absent, `null` or a boolean. */
const isOptionalBoolean = (o: Record<string, unknown>, key: string): boolean =>
  !(key in o) || o[key] === null || typeof o[key] === "boolean"

/** The key is absent, `null` or a string. */
const isOptionalString = (o: Record<string, unknown>, key: string): boolean =>
  !(key in o) || o[key] === null || typeof o[key] === "string"

const isPlainObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

/**
 * The well-formed TEI body without the Schema machinery (the common case); `undefined` sends the
 * body through the Schema, which decodes it the same way or names what is wrong.
 */
const fastTei = (json: unknown): TeiEmbedRequest | undefined => {
  if (!isPlainObject(json)) return undefined
  const inputs = json.inputs
  if (!isInputs(inputs) || !isOptionalBoolean(json, "normalize") || !isOptionalBoolean(json, "truncate")) {
    return undefined
  }
  const out: { inputs: string | ReadonlyArray<string>; normalize?: boolean | null; truncate?: boolean | null } = {
    inputs
  }
  if ("normalize" in json) out.normalize = json.normalize as boolean | null
  if ("truncate" in json) out.truncate = json.truncate as boolean | null
  return out
}

/** Like `fastTei`, for the OpenAI body. */
const fastOpenAI = (json: unknown): OpenAIEmbeddingRequest | undefined => {
  if (!isPlainObject(json)) return undefined
  const input = json.input
  if (
    !isInputs(input) || !isOptionalString(json, "model") || !isOptionalString(json, "user") ||
    !isOptionalBoolean(json, "truncate")
  ) return undefined
  const format = json.encoding_format
  if ("encoding_format" in json && format !== null && format !== "float" && format !== "base64") return undefined
  const dimensions = json.dimensions
  if (
    "dimensions" in json && dimensions !== null &&
    !(typeof dimensions === "number" && Number.isSafeInteger(dimensions) && dimensions > 0)
  ) return undefined
  const out: {
    input: string | ReadonlyArray<string>
    model?: string | null
    encoding_format?: "float" | "base64" | null
    dimensions?: number | null
    user?: string | null
    truncate?: boolean | null
  } = { input }
  if ("model" in json) out.model = json.model as string | null
  if ("encoding_format" in json) out.encoding_format = format as "float" | "base64" | null
  if ("dimensions" in json) out.dimensions = dimensions as number | null
  if ("user" in json) out.user = json.user as string | null
  if ("truncate" in json) out.truncate = json.truncate as boolean | null
  return out
}

const isTokenArray = (input: unknown): boolean =>
  Array.isArray(input) && input.length > 0 && (typeof input[0] === "number" || Array.isArray(input[0]))

/**
 * Decodes a `/embed` body. A well-formed body is checked by hand (the common case, no Schema
 * machinery); anything else goes through `TeiEmbedRequest`, which gives the same value or the error.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTei = (json: unknown): Result.Result<TeiEmbedRequest, ApiError> => {
  const fast = fastTei(json)
  return fast === undefined ? decodeTeiBody(json) : Result.succeed(fast)
}

/**
 * Decodes a `/v1/embeddings` body. Token-id arrays (`number[]`, `number[][]`) are refused with a
 * message saying so: this server takes text only.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeOpenAI = (json: unknown): Result.Result<OpenAIEmbeddingRequest, ApiError> => {
  if (typeof json === "object" && json !== null && isTokenArray((json as { input?: unknown }).input)) {
    return Result.fail(
      invalidField(
        "input",
        "is an array of token ids; this server embeds text only: send a string or an array of strings"
      )
    )
  }
  const fast = fastOpenAI(json)
  return fast === undefined ? decodeOpenAIBody(json) : Result.succeed(fast)
}

interface WellFormed {
  /** ES2024 `String.prototype.isWellFormed` (Node 20+): no lone UTF-16 surrogate. */
  isWellFormed(): boolean
}

const loneSurrogatePattern = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * What is wrong with `text` when it holds a lone UTF-16 surrogate (JSON allows `"\ud800"`, but it
 * is not a character: no UTF-8 encodes it, and the tokenizer would drop it silently, embedding a
 * text the client did not send); `undefined` when it holds none.
 *
 * @since 0.1.0
 * @category decoding
 */
export const loneSurrogate = (text: string): string | undefined => {
  if ((text as unknown as WellFormed).isWellFormed()) return undefined
  const at = loneSurrogatePattern.exec(text)?.index ?? 0
  const unit = text.charCodeAt(at).toString(16)
  return `holds a lone UTF-16 surrogate (\\u${unit} at character ${at}), which is not a character: ` +
    "encode characters outside the Basic Multilingual Plane as a surrogate pair"
}

/** A 400 when `text` holds a lone UTF-16 surrogate (see `loneSurrogate`). */
const checkWellFormed = (param: string, text: string): ApiError | undefined => {
  const wrong = loneSurrogate(text)
  return wrong === undefined ? undefined : invalidField(param, wrong)
}

/**
 * Normalises `inputs` to a list and checks it: not empty, no empty string, no lone UTF-16
 * surrogate, at most `maxInputs`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const checkInputs = (
  field: string,
  inputs: string | ReadonlyArray<string>,
  maxInputs: number
): Result.Result<ReadonlyArray<string>, ApiError> => {
  if (typeof inputs === "string") {
    if (inputs.length === 0) return Result.fail(invalidField(field, "must not be an empty string"))
    const malformed = checkWellFormed(field, inputs)
    return malformed === undefined ? Result.succeed([inputs]) : Result.fail(malformed)
  }
  if (inputs.length === 0) return Result.fail(invalidField(field, "must not be an empty list"))
  if (inputs.length > maxInputs) {
    return Result.fail(
      new ApiError({
        kind: "too_many_inputs",
        message: `"${field}" has ${inputs.length} inputs, more than the limit of ${maxInputs} per request; ` +
          `split it into several requests`,
        param: field
      })
    )
  }
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i]!.length === 0) return Result.fail(invalidField(`${field}[${i}]`, "must not be an empty string"))
    const malformed = checkWellFormed(`${field}[${i}]`, inputs[i]!)
    if (malformed !== undefined) return Result.fail(malformed)
  }
  return Result.succeed(inputs)
}
