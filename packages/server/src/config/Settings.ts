/**
 * Every setting of the server as data: its `ServerConfig` field, environment variable, flag, help
 * line and reader. `Cli` turns each into an `effect/cli` flag whose fallback is its variable.
 *
 * Each setting has one environment variable (e.g. `ADABATCH_MAX_BATCH_SIZE`) and one flag, the
 * kebab-case of the same name (`--max-batch-size`).
 *
 * @since 0.1.0
 */
import { Redacted, Result } from "effect"
import { defaults, type ServerConfig } from "./ServerConfig.js"
import {
  boolean,
  byteSize,
  int,
  nonEmpty,
  oneOf,
  optionalInt,
  optionalSize,
  queueDynamic,
  type Reader
} from "./Values.js"

/**
 * One setting: its variable, its flag, how its text is read, and its help line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Setting {
  /** The `ServerConfig` field it sets. */
  readonly key: keyof ServerConfig
  /** Its environment variable, e.g. `ADABATCH_MAX_BATCH_SIZE`. */
  readonly env: string
  /** Its flag, e.g. `--max-batch-size`. */
  readonly flag: string
  /** Shown in `--help`, e.g. `<int>`. */
  readonly placeholder: string
  /** Its help line. */
  readonly description: string
  /** The default as shown in `--help`. */
  readonly shownDefault: string
  /** A boolean flag: a bare `--name` sets it, `--no-name` clears it. */
  readonly boolean: boolean
  /** Reads the setting's text (from its flag or its variable). */
  readonly parse: Reader<unknown>
}

const setting = (
  key: keyof ServerConfig,
  env: string,
  placeholder: string,
  parse: Reader<unknown>,
  description: string,
  options?: { readonly shownDefault?: string; readonly boolean?: boolean; readonly flag?: string }
): Setting => ({
  key,
  env,
  flag: options?.flag ?? `--${env.replace(/^ADABATCH_/, "").toLowerCase().replace(/_/g, "-")}`,
  placeholder,
  description,
  shownDefault: options?.shownDefault ?? String(defaults[key]),
  boolean: options?.boolean ?? false,
  parse
})

/**
 * Every setting, in `--help` order.
 *
 * @since 0.1.0
 * @category settings
 */
export const settings: ReadonlyArray<Setting> = [
  setting("host", "HOST", "<address>", nonEmpty("a host name or IP address"), "Interface to listen on."),
  setting("port", "PORT", "<int>", int(0, 65535), "TCP port; 0 picks a free one."),
  setting(
    "model",
    "ADABATCH_MODEL",
    "<name|dir>",
    nonEmpty("default, tiny, echo, or a model directory path"),
    "default (MiniLM-L6-shaped ONNX encoder), tiny (small ONNX model for tests), echo (no ONNX, deterministic " +
      "vectors), or the path of a model directory."
  ),
  setting(
    "echoDimension",
    "ADABATCH_ECHO_DIMENSION",
    "<int|auto>",
    optionalInt(1, 65_536),
    "Vector dimension of the echo model (auto: 384, or the dimension of the model named after echo:); " +
      "ignored for ONNX models.",
    { shownDefault: "auto" }
  ),
  setting(
    "batchPolicy",
    "ADABATCH_BATCH_POLICY",
    "<policy>",
    oneOf(["adaptive", "fixed"]),
    "adaptive learns the throughput-optimal batch size online; fixed always fills batches up to the caps."
  ),
  setting("maxBatchSize", "ADABATCH_MAX_BATCH_SIZE", "<int>", int(1, 4096), "Hard cap on the items of one batch."),
  setting(
    "maxBatchTokens",
    "ADABATCH_MAX_BATCH_TOKENS",
    "<int>",
    int(1, 10_000_000),
    "Hard cap on the tokens of one batch (padded length x items)."
  ),
  setting(
    "targetLatencyMs",
    "ADABATCH_TARGET_LATENCY_MS",
    "<ms|auto>",
    optionalInt(1, 600_000),
    "Batch latency the adaptive batch-size policy keeps under.",
    { shownDefault: "auto" }
  ),
  setting(
    "waitPolicy",
    "ADABATCH_WAIT_POLICY",
    "<policy>",
    oneOf(["adaptive", "fixed", "none"]),
    "adaptive waits for more items only while that pays off (never when idle), up to the max wait; fixed always " +
      "waits the max wait; none dispatches at once."
  ),
  setting("maxWaitMs", "ADABATCH_MAX_WAIT_MS", "<ms>", int(0, 10_000), "Longest time a batch waits for more items."),
  setting("queueCapacity", "ADABATCH_QUEUE_CAPACITY", "<int>", int(1, 1_000_000), "Queue capacity, in inputs."),
  setting(
    "overflow",
    "ADABATCH_OVERFLOW",
    "<mode>",
    oneOf(["reject", "backpressure"]),
    "Full queue: reject answers 429 with Retry-After; backpressure makes requests wait (within their timeout)."
  ),
  setting(
    "shedLate",
    "ADABATCH_SHED_LATE",
    "<bool>",
    boolean,
    "With backpressure: answer 429 with Retry-After at once when the work queued ahead would keep a request " +
      "past half its timeout (it would likely end in 504), so admitted requests keep their deadlines under overload.",
    { boolean: true }
  ),
  setting(
    "queueDynamic",
    "ADABATCH_QUEUE_DYNAMIC",
    "<off|on|floor:ceiling>",
    queueDynamic,
    "Let the queue capacity grow under sustained rejection and shrink when idle, between floor and ceiling " +
      "(on: from the capacity to 4x the capacity).",
    { shownDefault: "off" }
  ),
  setting(
    "workers",
    "ADABATCH_WORKERS",
    "<int|auto>",
    optionalInt(1, 64),
    "Inference worker threads (batches computed at the same time). auto: usable cores / threads; with threads " +
      "also auto, the layout (workers x threads) a short calibration of the model on this machine picks: the " +
      "highest throughput whose idle latency is within 1.5x of the fastest layout's, cached per model, CPU, usable " +
      "cores and onnxruntime version. Usable cores: the CPU affinity and the cgroup quota.",
    { shownDefault: "auto" }
  ),
  setting(
    "threads",
    "ADABATCH_THREADS",
    "<int|auto>",
    optionalInt(1, 256),
    "Intra-op threads per ONNX session. auto: usable cores / workers, or calibrated (see --workers).",
    { shownDefault: "auto" }
  ),
  setting(
    "recalibrate",
    "ADABATCH_RECALIBRATE",
    "<bool>",
    boolean,
    "Calibrate the worker layout again at start-up even when a cached calibration exists (with workers and " +
      "threads auto; the cache is under ADABATCH_CACHE_DIR).",
    { boolean: true }
  ),
  setting(
    "tokenizerWorkers",
    "ADABATCH_TOKENIZER_WORKERS",
    "<int|auto>",
    optionalInt(0, 64),
    "Tokenization worker threads for texts too long to tokenize on the event loop (more than 8192 characters " +
      "of tokenizer work in one request that no safe cut shortens); 0 tokenizes every text on the event loop. " +
      "auto: a quarter of the cores, 1 to 4.",
    { shownDefault: "auto" }
  ),
  setting(
    "requestTimeoutMs",
    "ADABATCH_REQUEST_TIMEOUT_MS",
    "<ms>",
    int(1, 3_600_000),
    "Time budget of one request, queueing included; past it the request gets 504."
  ),
  setting(
    "runTimeoutMs",
    "ADABATCH_RUN_TIMEOUT_MS",
    "<ms|auto>",
    optionalInt(1, 3_600_000),
    "Longest time one batch may run on an inference worker; past it the batch fails and the worker is replaced " +
      "(a hung model cannot hold a worker forever). auto: the request timeout + 1 s.",
    { shownDefault: "auto" }
  ),
  setting(
    "drainTimeoutMs",
    "ADABATCH_DRAIN_TIMEOUT_MS",
    "<ms>",
    int(0, 3_600_000),
    "On SIGTERM/SIGINT, how long queued and in-flight requests may still take before they get 503."
  ),
  setting(
    "isolateFailures",
    "ADABATCH_ISOLATE_FAILURES",
    "<bool>",
    boolean,
    "When a batch fails, retry its inputs one by one so only the bad input fails.",
    { boolean: true }
  ),
  setting(
    "maxConcurrentRequests",
    "ADABATCH_MAX_CONCURRENT_REQUESTS",
    "<int>",
    int(1, 1_000_000),
    "Most embedding requests handled at once; more get 429 with Retry-After at once, before their body is " +
      "parsed (bounds the memory held by requests waiting under backpressure)."
  ),
  setting(
    "maxClientBatch",
    "ADABATCH_MAX_CLIENT_BATCH",
    "<int>",
    int(1, 100_000),
    "Most inputs one request may carry; more gives 422 (413 on /v1/embeddings). A request with more inputs than " +
      "the queue has room for is still taken: its inputs enter the queue as room frees."
  ),
  setting(
    "feedWindow",
    "ADABATCH_FEED_WINDOW",
    "<int|auto>",
    optionalInt(1, 1_000_000),
    "A request with more inputs than this is fed into the queue: at most this many of its inputs queued at once, " +
      "so requests beside it wait behind that many rather than the whole request. auto: the max batch size x workers.",
    { shownDefault: "auto" }
  ),
  setting(
    "payloadLimit",
    "ADABATCH_PAYLOAD_LIMIT",
    "<size>",
    byteSize,
    "Largest request body (binary units: 512kb, 2mb), before and after decoding a Content-Encoding (gzip, " +
      "deflate, br); larger gives 413.",
    { shownDefault: "2mb" }
  ),
  setting(
    "maxInflightBytes",
    "ADABATCH_MAX_INFLIGHT_BYTES",
    "<size|auto>",
    optionalSize(64),
    "Most bytes of request bodies held at once, over all requests (at least the payload limit); a body that " +
      "would go over it gets 429 with Retry-After before it is read (chunked bodies are counted as they " +
      "arrive). auto: 32 payload limits (64mb with the default limit).",
    { shownDefault: "auto" }
  ),
  setting(
    "bodyTimeoutMs",
    "ADABATCH_BODY_TIMEOUT_MS",
    "<ms>",
    int(1, 3_600_000),
    "Longest time the body of a request may take to arrive once the server reads it; past it the request gets " +
      "408 and the connection is closed. A request holds no embedding slot until its body has arrived."
  ),
  setting(
    "writeTimeoutMs",
    "ADABATCH_WRITE_TIMEOUT_MS",
    "<ms>",
    int(1, 3_600_000),
    "A connection that leaves its answers unread is read no further (pipelined requests wait), and is closed " +
      "once its unsent answers make no progress for this long."
  ),
  setting(
    "autoTruncate",
    "ADABATCH_AUTO_TRUNCATE",
    "<bool>",
    boolean,
    "Truncate over-long inputs when a request does not say (truncate on /embed and /v1/embeddings); " +
      "otherwise they get 422.",
    { boolean: true }
  ),
  setting(
    "apiKey",
    "ADABATCH_API_KEY",
    "<key>",
    (text) =>
      text.length === 0 ? Result.fail("a non-empty key") : Result.succeed(Redacted.make(text, { label: "api-key" })),
    "Require Authorization: Bearer <key> on every route except /health, /ready and /metrics.",
    { shownDefault: "none" }
  ),
  setting(
    "servedModelName",
    "ADABATCH_SERVED_MODEL_NAME",
    "<name>",
    nonEmpty("a non-empty model name"),
    "The model name reported by /v1/models, /info and /v1/embeddings answers (any requested model is served).",
    { shownDefault: "the model's id" }
  ),
  setting(
    "defaultPromptName",
    "ADABATCH_DEFAULT_PROMPT_NAME",
    "<name>",
    nonEmpty("a prompt name"),
    "Prompt of the model's config_sentence_transformers.json put before every input when a request names none " +
      "(e.g. query).",
    { shownDefault: "none" }
  ),
  setting(
    "defaultPrompt",
    "ADABATCH_DEFAULT_PROMPT",
    "<text>",
    (text) => (text.length === 0 ? Result.fail("a non-empty text") : Result.succeed(text)),
    "Text put before every input when a request names no prompt (e.g. \"query: \"); not with " +
      "--default-prompt-name.",
    { shownDefault: "none" }
  )
]
