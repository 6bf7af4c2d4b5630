/**
 * The server's configuration: every setting's value and default, the error an invalid value gives,
 * and the checks across settings. The settings' variables and flags are in `Settings`, the command
 * line (built on `effect/cli`) in `Cli`.
 *
 * @since 0.1.0
 */
import type { EngineLayers } from "@adabatch/core"
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
export interface ServerConfig extends EngineLayers.EngineSettings {
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host: string
  /** TCP port; `0` picks a free one (default `8080`). */
  readonly port: number
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
