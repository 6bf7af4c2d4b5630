/**
 * The server's configuration: every setting's value and default, the error an invalid value gives,
 * and the checks across settings. The settings' variables and flags are in `Settings`, the command
 * line (built on `effect/cli`) in `Cli`.
 *
 * @since 0.1.0
 */
import { Data, Redacted, Result } from "effect"

/**
 * A dynamic queue capacity: the queue policy may grow the capacity up to `ceiling` under sustained
 * rejection and shrink it back down to `floor` when it is mostly idle.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueueDynamic {
  readonly floor: number
  readonly ceiling: number
}

/**
 * Everything the server needs to start.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerConfig {
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host: string
  /** TCP port; `0` picks a free one (default `8080`). */
  readonly port: number
  /** `default`, `tiny`, `echo`, or a model directory path (default `default`). */
  readonly model: string
  /** `adaptive` learns the throughput-optimal batch size online; `fixed` always fills up to the cap. */
  readonly batchPolicy: "adaptive" | "fixed"
  /** Hard cap on items per batch (default 32). */
  readonly maxBatchSize: number
  /** Hard cap on the tokens of one batch (default 16384). */
  readonly maxBatchTokens: number
  /** Latency target of the adaptive batch-size policy, in ms; `undefined`: the policy's default. */
  readonly targetLatencyMs: number | undefined
  /** `adaptive`: wait only while it pays off, up to `maxWaitMs`; `fixed`: always wait `maxWaitMs`; `none`. */
  readonly waitPolicy: "adaptive" | "fixed" | "none"
  /** Longest time a batch waits for more items, in ms (default 5). */
  readonly maxWaitMs: number
  /** Queue capacity in items (default 1024). */
  readonly queueCapacity: number
  /** What a full queue does: `reject` answers 429, `backpressure` makes the request wait. */
  readonly overflow: "reject" | "backpressure"
  /**
   * With `backpressure`: answer 429 at once to a request the queued work would keep past half its
   * timeout, instead of letting it wait for a likely 504 (default true).
   */
  readonly shedLate: boolean
  /** Let the queue capacity adapt between two bounds; `undefined`: fixed capacity. */
  readonly queueDynamic: QueueDynamic | undefined
  /** Vector dimension of the `echo` model; `undefined`: the model's default (384). Ignored for ONNX models. */
  readonly echoDimension: number | undefined
  /**
   * Inference worker threads; `undefined` (`auto`): usable cores / threads, or, with `threads` also
   * `auto`, the layout a calibration of the model on this machine picks (cached).
   */
  readonly workers: number | undefined
  /** Intra-op threads per ONNX session; `undefined` (`auto`): usable cores / workers, or calibrated. */
  readonly threads: number | undefined
  /** Calibrate the worker layout again at start-up even when a cached calibration exists (default false). */
  readonly recalibrate: boolean
  /**
   * Tokenization worker threads for the texts too long to tokenize on the event loop; 0 tokenizes
   * every text on the event loop; `undefined`: the model's default (a quarter of the cores, 1 to 4).
   */
  readonly tokenizerWorkers: number | undefined
  /** Time budget of one request, queueing included, in ms (default 30000). */
  readonly requestTimeoutMs: number
  /**
   * Longest time one batch may run on a worker, in ms: past it the batch fails and its worker is
   * replaced (a hung model cannot hold a worker forever); `undefined`: the request timeout.
   */
  readonly runTimeoutMs: number | undefined
  /** On SIGTERM/SIGINT: how long queued and in-flight requests may still take, in ms (default 10000). */
  readonly drainTimeoutMs: number
  /** Retry the items of a failed batch one by one so one bad input fails alone (default true). */
  readonly isolateFailures: boolean
  /**
   * Most embedding requests handled at once (default 512, like TEI's `max-concurrent-requests`);
   * more are refused with 429 before their body is parsed.
   */
  readonly maxConcurrentRequests: number
  /**
   * Most inputs one request may carry (default 2048, OpenAI's limit); more gives 422 on TEI routes,
   * 413 on `/v1/embeddings`.
   */
  readonly maxClientBatch: number
  /**
   * Inputs of a request larger than this queued at once, the rest entering as room frees;
   * `undefined`: `maxBatchSize` x the workers.
   */
  readonly feedWindow: number | undefined
  /**
   * Largest request body in bytes (default 2 MiB), before and after decoding a `Content-Encoding`;
   * larger gives 413.
   */
  readonly payloadLimit: number
  /**
   * Most bytes of request bodies held at once, over all requests; a body that would go over it gets
   * 429 before it is read. `undefined`: 32 payload limits (64 MiB by default).
   */
  readonly maxInflightBytes: number | undefined
  /** Longest time the body of a request may take to arrive, in ms (default 10000); past it, 408. */
  readonly bodyTimeoutMs: number
  /**
   * Longest time a connection may leave its answers unread, in ms (default 30000): while its unsent
   * data makes no progress for this long, it is closed.
   */
  readonly writeTimeoutMs: number
  /** Default of `truncate` when a request does not say (on `/embed` and `/v1/embeddings`). */
  readonly autoTruncate: boolean
  /** When set, every embedding and info route needs `Authorization: Bearer <key>`. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** The model name `/v1/models`, `/info` and `/v1/embeddings` answers report; `undefined`: the model's id. */
  readonly servedModelName: string | undefined
  /** The prompt (from the model's `config_sentence_transformers.json`) used when a request names none. */
  readonly defaultPromptName: string | undefined
  /** Text put before every input when a request names no prompt (exclusive with `defaultPromptName`). */
  readonly defaultPrompt: string | undefined
}

/**
 * The defaults, documented on each field of `ServerConfig`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ServerConfig = {
  host: "127.0.0.1",
  port: 8080,
  model: "default",
  batchPolicy: "adaptive",
  maxBatchSize: 32,
  maxBatchTokens: 16384,
  targetLatencyMs: undefined,
  waitPolicy: "adaptive",
  maxWaitMs: 5,
  queueCapacity: 1024,
  overflow: "reject",
  shedLate: true,
  queueDynamic: undefined,
  echoDimension: undefined,
  workers: undefined,
  threads: undefined,
  recalibrate: false,
  tokenizerWorkers: undefined,
  requestTimeoutMs: 30_000,
  runTimeoutMs: undefined,
  drainTimeoutMs: 10_000,
  isolateFailures: true,
  maxConcurrentRequests: 512,
  maxClientBatch: 2048,
  feedWindow: undefined,
  payloadLimit: 2 * 1024 * 1024,
  maxInflightBytes: undefined,
  bodyTimeoutMs: 10_000,
  writeTimeoutMs: 30_000,
  autoTruncate: false,
  apiKey: undefined,
  servedModelName: undefined,
  defaultPromptName: undefined,
  defaultPrompt: undefined
}

/**
 * A configuration value that is not accepted. `source` names the environment variable or flag.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** e.g. `environment variable ADABATCH_MAX_BATCH_SIZE` or `flag --max-batch-size`. */
  readonly source: string
  /** The rejected text (`undefined` for a missing flag value or an unknown flag). */
  readonly value: string | undefined
  /** What is accepted. */
  readonly expected: string
}> {
  override get message(): string {
    return this.value === undefined
      ? `${this.source}: ${this.expected}`
      : `invalid value ${JSON.stringify(this.value)} for ${this.source}: expected ${this.expected}`
  }
}

/**
 * Completes the values read from the environment and the flags with the defaults, expands
 * `queueDynamic: "on"` around the capacity and checks the rules across settings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const finish = (values: Record<string, unknown>): Result.Result<ServerConfig, ConfigError> => {
  const config = { ...defaults, ...values } as ServerConfig & { queueDynamic: QueueDynamic | "on" | undefined }
  const dynamic = config.queueDynamic === "on"
    ? { floor: config.queueCapacity, ceiling: Math.min(1_000_000, config.queueCapacity * 4) }
    : config.queueDynamic
  if (dynamic !== undefined && (config.queueCapacity < dynamic.floor || config.queueCapacity > dynamic.ceiling)) {
    return Result.fail(
      new ConfigError({
        source: "ADABATCH_QUEUE_DYNAMIC (--queue-dynamic)",
        value: `${dynamic.floor}:${dynamic.ceiling}`,
        expected: `bounds around the queue capacity ${config.queueCapacity} (floor <= capacity <= ceiling)`
      })
    )
  }
  if (config.maxInflightBytes !== undefined && config.maxInflightBytes < config.payloadLimit) {
    return Result.fail(
      new ConfigError({
        source: "ADABATCH_MAX_INFLIGHT_BYTES (--max-inflight-bytes)",
        value: String(config.maxInflightBytes),
        expected: `at least the payload limit of ${config.payloadLimit} bytes, or auto`
      })
    )
  }
  if (config.defaultPrompt !== undefined && config.defaultPromptName !== undefined) {
    return Result.fail(
      new ConfigError({
        source: "ADABATCH_DEFAULT_PROMPT (--default-prompt)",
        value: config.defaultPrompt,
        expected: "no default prompt text together with ADABATCH_DEFAULT_PROMPT_NAME (--default-prompt-name)"
      })
    )
  }
  return Result.succeed({ ...config, queueDynamic: dynamic })
}

/**
 * The budget of request-body bytes held at once: `maxInflightBytes`, or 32 payload limits.
 *
 * @since 0.1.0
 * @category settings
 */
export const inflightBytes = (config: ServerConfig): number =>
  config.maxInflightBytes ?? Math.min(64 * 1024 ** 3, 32 * config.payloadLimit)

/**
 * Builds a configuration from the defaults and the given overrides, checking the same cross-field
 * rules as `parse` (used by tests and the benchmark).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (overrides: Partial<ServerConfig> = {}): ServerConfig => {
  const result = finish(overrides)
  if (Result.isFailure(result)) throw result.failure
  return result.success
}
