/**
 * `GET /info`: every field of TEI's `Info` (its document marks `model_id`, `model_dtype`,
 * `served_model_name`, `model_type`, `max_concurrent_requests`, `max_input_length`,
 * `max_batch_tokens`, `max_client_batch_size`, `auto_truncate`, `tokenization_workers` and
 * `version` required), then adabatch's own: the model's shape, the limits and the batching
 * configuration with the adaptive policies' current values.
 *
 * @since 0.1.0
 */
import { type Batcher, type EmbeddingModel, EngineLayers, version } from "@adabatch/core"
import type { ServerConfig } from "../config/index.js"
import * as LayoutView from "../LayoutView.js"

/**
 * The name the server reports for its model: `--served-model-name`, else the model's id.
 *
 * @since 0.1.0
 * @category naming
 */
export const servedName = (config: ServerConfig, model: EmbeddingModel.ModelInfo): string =>
  config.servedModelName ?? model.id

/**
 * The `/info` body.
 *
 * @since 0.1.0
 * @category rendering
 */
export const body = (
  config: ServerConfig,
  model: EmbeddingModel.ModelInfo,
  snapshot: Batcher.BatcherSnapshot,
  /** The budget of request-body bytes held at once (`max_inflight_bytes`). */
  inflightBytes: number
) => ({
  // TEI's Info
  model_id: model.id,
  model_sha: null,
  model_dtype: "float32",
  served_model_name: servedName(config, model),
  model_type: { embedding: { pooling: model.pooling } },
  max_concurrent_requests: config.maxConcurrentRequests,
  max_input_length: model.maxLength,
  max_batch_tokens: config.maxBatchTokens,
  max_batch_requests: config.maxBatchSize,
  max_client_batch_size: config.maxClientBatch,
  auto_truncate: config.autoTruncate,
  // long texts are tokenized in worker threads (see `ModelTokenizer`), the rest on the event loop
  tokenization_workers: EngineLayers.tokenizerWorkers(config),
  version,
  sha: null,
  docker_label: null,
  // adabatch's own
  model_kind: model.kind,
  model_path: model.path ?? null,
  dimension: model.dimension,
  pooling: model.pooling,
  normalized: model.normalize,
  prompts: model.prompts,
  default_prompt_name: config.defaultPromptName ?? null,
  default_prompt: config.defaultPrompt ?? null,
  token_states: model.tokenStates,
  workers: model.workers,
  intra_op_threads: model.intraOpNumThreads,
  layout: LayoutView.toJson(model.layout),
  payload_limit: config.payloadLimit,
  request_timeout_ms: config.requestTimeoutMs,
  max_inflight_bytes: inflightBytes,
  body_timeout_ms: config.bodyTimeoutMs,
  write_timeout_ms: config.writeTimeoutMs,
  run_timeout_ms: EngineLayers.runTimeoutMs(config),
  batching: {
    config: {
      batch_policy: config.batchPolicy,
      max_batch_size: config.maxBatchSize,
      max_batch_tokens: config.maxBatchTokens,
      target_latency_ms: config.targetLatencyMs ?? null,
      wait_policy: config.waitPolicy,
      max_wait_ms: config.maxWaitMs,
      queue_capacity: config.queueCapacity,
      feed_window: config.feedWindow ?? null,
      overflow: config.overflow,
      shed_late: config.overflow === "backpressure" && config.shedLate,
      queue_dynamic: config.queueDynamic ?? null,
      isolate_failures: config.isolateFailures,
      drain_timeout_ms: config.drainTimeoutMs
    },
    current: snapshot
  }
})
