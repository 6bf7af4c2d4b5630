/**
 * Metrics of the model area (Effect `Metric`s, exported by the server's `/metrics` route).
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Real (unpadded) tokens per batch run.
 *
 * @since 0.1.0
 * @category metrics
 */
export const batchTokens: Metric.Histogram<number> = Metric.histogram("adabatch_model_batch_tokens", {
  description: "Tokens per batch run by the model (padding excluded)",
  boundaries: Metric.exponentialBoundaries({ start: 8, factor: 2, count: 14 })
})

/**
 * Share of padding in a batch: padded slots / (batch size x longest input).
 *
 * @since 0.1.0
 * @category metrics
 */
export const paddingRatio: Metric.Histogram<number> = Metric.histogram("adabatch_model_padding_ratio", {
  description: "Padding share of each batch tensor (padded slots / all slots)",
  boundaries: Metric.linearBoundaries({ start: 0.05, width: 0.05, count: 19 })
})

/**
 * Time to tokenize one call's texts, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenizationMs: Metric.Metric<number, Metric.HistogramState> = Metric.mapInput(
  Metric.histogram("adabatch_model_tokenization_seconds", {
    description: "Tokenization time per call (recorded in ms, exported in seconds)",
    boundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100].map((ms) => ms / 1000)
  }),
  (ms: number) => ms / 1000
)

/**
 * Inference time of one batch in a worker (`session.run` plus pooling), in milliseconds, with a
 * `worker` attribute (the worker's slot index, or `"echo"`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const inferenceMs: Metric.Metric<number, Metric.HistogramState> = Metric.mapInput(
  Metric.histogram("adabatch_model_inference_seconds", {
    description: "Inference time per batch, measured in the worker (recorded in ms, exported in seconds)",
    boundaries: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000].map((ms) => ms / 1000)
  }),
  (ms: number) => ms / 1000
)

/**
 * The inference-time histogram of one worker.
 *
 * @since 0.1.0
 * @category metrics
 */
export const inferenceMsFor = (worker: number | "echo"): Metric.Metric<number, Metric.HistogramState> =>
  Metric.withAttributes(inferenceMs, { worker: String(worker) })

/**
 * Inference workers replaced after a crash.
 *
 * @since 0.1.0
 * @category metrics
 */
export const workerRestarts: Metric.Counter<number> = Metric.counter("adabatch_model_worker_restarts_total", {
  description: "Inference workers restarted after a crash or a timed-out batch",
  incremental: true
})

/**
 * Bytes of int64 input buffers allocated; stays flat when buffers are reused across batches.
 *
 * @since 0.1.0
 * @category metrics
 */
export const inputBufferBytes: Metric.Counter<number> = Metric.counter(
  "adabatch_model_input_buffer_allocated_bytes_total",
  { description: "Bytes of int64 input tensors allocated (reused buffers are not counted)", incremental: true }
)

/**
 * Texts tokenized in a tokenization worker instead of on the calling fiber (long texts that no safe
 * cut made short).
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenizerWorkerTexts: Metric.Counter<number> = Metric.counter(
  "adabatch_model_tokenizer_worker_texts_total",
  {
    description: "Texts tokenized in a tokenization worker thread (too long to tokenize on the event loop)",
    incremental: true
  }
)

/**
 * Tokenization workers replaced after a crash.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokenizerWorkerRestarts: Metric.Counter<number> = Metric.counter(
  "adabatch_model_tokenizer_worker_restarts_total",
  { description: "Tokenization workers restarted after a crash", incremental: true }
)
