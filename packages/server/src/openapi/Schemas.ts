/**
 * The response bodies and headers of the HTTP API, as Schemas. They describe what the handlers in
 * `Api.ts` write (by hand, for speed) for the OpenAPI document; a test validates real responses
 * against the document, so a handler that drifts from its Schema fails it.
 *
 * The request bodies are the Schemas the server decodes with: `TeiRequests.ts` (TEI routes),
 * `routes/Similarity.ts` and `Requests.OpenAIEmbeddingRequest`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const Vector = Schema.Array(Schema.Finite)

/**
 * `POST /embed`: one vector per input, in input order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TeiEmbedResponse = Schema.Array(Vector).annotate({
  identifier: "EmbedResponse",
  description: "One vector per input, in input order"
})

/**
 * `POST /v1/embeddings`: OpenAI's embedding list.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OpenAIEmbeddingResponse = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Schema.Struct({
    object: Schema.Literal("embedding"),
    index: Count,
    embedding: Schema.Union([
      Vector,
      Schema.String.annotate({ description: "little-endian float32 values, base64 (encoding_format: base64)" })
    ])
  })),
  model: Schema.String,
  usage: Schema.Struct({ prompt_tokens: Count, total_tokens: Count })
}).annotate({ identifier: "OpenAIEmbeddingResponse" })

/**
 * `POST /embed_all`: per input, one vector per token.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbedAllResponse = Schema.Array(Schema.Array(Vector)).annotate({
  identifier: "EmbedAllResponse",
  description: "Per input, in input order, one vector per token (special tokens included)"
})

/**
 * One token of `/tokenize`'s answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SimpleToken = Schema.Struct({
  id: Count,
  text: Schema.String,
  special: Schema.Boolean,
  start: Schema.NullOr(Count).annotate({ description: "UTF-8 byte offset into the input; null for special tokens" }),
  stop: Schema.NullOr(Count).annotate({ description: "UTF-8 byte offset into the input; null for special tokens" })
}).annotate({ identifier: "SimpleToken" })

/**
 * `POST /tokenize`: per input, its tokens.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TokenizeResponse = Schema.Array(Schema.Array(SimpleToken)).annotate({
  identifier: "TokenizeResponse",
  description: "Per input, in input order, its tokens"
})

/**
 * `POST /decode`: one text per list of ids.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecodeResponse = Schema.Array(Schema.String).annotate({
  identifier: "DecodeResponse",
  description: "One text per list of token ids, in order"
})

/**
 * `POST /similarity`: the cosine similarity of the source sentence to each sentence.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SimilarityResponse = Schema.Array(Schema.Finite).annotate({
  identifier: "SimilarityResponse",
  description: "The cosine similarity of `source_sentence` to each of `sentences`, in order"
})

/**
 * An OpenAI model object.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Count,
  owned_by: Schema.String
}).annotate({ identifier: "Model" })

/**
 * `GET /v1/models`: the served model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelList = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Model)
}).annotate({ identifier: "ModelList" })

const millis = (description: string) => Schema.String.annotate({ description: `${description}, whole ms` })

/**
 * The timing headers of an embedding response (as TEI sends them).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimingHeaders = {
  "x-total-time": millis("time from request start to response"),
  "x-tokenization-time": millis("tokenization time"),
  "x-queue-time": millis("time the last input to finish waited before a batch took it"),
  "x-inference-time": millis("run time of the batch that computed the last input to finish"),
  "x-compute-time": millis("time from submit to result"),
  "x-compute-tokens": Schema.String.annotate({ description: "tokens computed (special tokens included)" }),
  "x-compute-characters": Schema.String.annotate({ description: "characters of the inputs" })
}

/**
 * `GET /health` when the model answers.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HealthOk = Schema.Struct({ status: Schema.Literal("ok") })

/**
 * `GET /health` and `GET /ready` while the model loads or the server drains.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NotServing = Schema.Struct({ status: Schema.Literals(["loading", "draining"]) }).annotate({
  description: "The model is still loading, or the server is shutting down"
})

/**
 * `GET /ready`: ready (200) or saturated (503), with the queue's depth and capacity.
 *
 * @since 0.1.0
 * @category schemas
 */
export const QueueStatus = (status: "ready" | "saturated") =>
  Schema.Struct({ status: Schema.Literal(status), queued: Count, capacity: Count })

const PolicyValues = Schema.Record(Schema.String, Schema.Union([Schema.Finite, Schema.String]))

/**
 * The engine's current values (`BatcherSnapshot`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatcherSnapshot = Schema.Struct({
  queued: Count,
  capacity: Count,
  overflow: Schema.Literals(["reject", "backpressure"]),
  workers: Count,
  busyWorkers: Count,
  maxBatchSize: Count,
  maxBatchCost: Schema.NullOr(Schema.Finite).annotate({ description: "null: no cost budget" }),
  maxWaitMs: Schema.Finite,
  arrivalRate: Schema.Finite.annotate({ description: "recent arrivals, inputs per second" }),
  accepting: Schema.Boolean,
  saturated: Schema.Boolean,
  policies: Schema.Struct({ batchSize: PolicyValues, wait: PolicyValues, queue: PolicyValues })
}).annotate({ identifier: "BatcherSnapshot" })

/**
 * `GET /info`: the model, the limits, the batching configuration and the policies' current values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Info = Schema.Struct({
  model_id: Schema.String,
  model_sha: Schema.Null,
  model_dtype: Schema.String,
  served_model_name: Schema.String,
  model_type: Schema.Struct({ embedding: Schema.Struct({ pooling: Schema.Literals(["mean", "cls"]) }) }),
  version: Schema.String,
  sha: Schema.Null,
  docker_label: Schema.Null,
  tokenization_workers: Count,
  prompts: Schema.Record(Schema.String, Schema.String),
  default_prompt_name: Schema.NullOr(Schema.String),
  default_prompt: Schema.NullOr(Schema.String),
  token_states: Schema.Boolean,
  model_kind: Schema.Literals(["onnx", "echo"]),
  model_path: Schema.NullOr(Schema.String),
  dimension: Count,
  max_input_length: Count,
  pooling: Schema.Literals(["mean", "cls"]),
  normalized: Schema.Boolean,
  workers: Count,
  intra_op_threads: Count,
  layout: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)).annotate({
    description: "How workers x threads was decided (ONNX models): the candidates measured, what was ruled out, why"
  }),
  max_batch_requests: Count,
  max_batch_tokens: Count,
  max_client_batch_size: Count,
  max_concurrent_requests: Count,
  payload_limit: Count,
  auto_truncate: Schema.Boolean,
  request_timeout_ms: Count,
  max_inflight_bytes: Count,
  body_timeout_ms: Count,
  write_timeout_ms: Count,
  run_timeout_ms: Count,
  batching: Schema.Struct({
    config: Schema.Struct({
      batch_policy: Schema.Literals(["adaptive", "fixed"]),
      max_batch_size: Count,
      max_batch_tokens: Count,
      target_latency_ms: Schema.NullOr(Schema.Finite),
      wait_policy: Schema.Literals(["adaptive", "fixed", "none"]),
      max_wait_ms: Schema.Finite,
      queue_capacity: Count,
      feed_window: Schema.NullOr(Count),
      overflow: Schema.Literals(["reject", "backpressure"]),
      shed_late: Schema.Boolean,
      queue_dynamic: Schema.NullOr(Schema.Struct({ floor: Count, ceiling: Count })),
      isolate_failures: Schema.Boolean,
      drain_timeout_ms: Count
    }),
    current: BatcherSnapshot
  })
}).annotate({ identifier: "Info" })

/** One of `values` (a single value is a plain literal rather than a union of one). */
const oneOf = (values: ReadonlyArray<string>) =>
  values.length === 1 ? Schema.Literal(values[0]!) : Schema.Literals(values)

/**
 * A TEI error body, `{"error", "error_type"}`, with the `error_type` values one status can carry.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TeiError = (errorTypes: ReadonlyArray<string>) =>
  Schema.Struct({ error: Schema.String, error_type: oneOf(errorTypes) })

/**
 * An OpenAI error body, `{"error": {"message", "type", "param", "code"}}`, with the `type` and
 * `code` values one status can carry.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OpenAIError = (types: ReadonlyArray<string>, codes: ReadonlyArray<string>) =>
  Schema.Struct({
    error: Schema.Struct({
      message: Schema.String,
      type: oneOf(types),
      param: Schema.NullOr(Schema.String).annotate({ description: "the request field at fault" }),
      code: oneOf(codes)
    })
  })

/**
 * The headers an error response may carry.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ErrorHeaders = {
  "retry-after": Schema.optionalKey(Schema.String.annotate({ description: "whole seconds to wait before retrying" })),
  "retry-after-ms": Schema.optionalKey(Schema.String.annotate({ description: "ms to wait before retrying" })),
  "www-authenticate": Schema.optionalKey(Schema.String.annotate({ description: "Bearer (401)" }))
}
