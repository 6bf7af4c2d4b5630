/**
 * The server's configuration: every setting, its default, and how it is read from environment
 * variables and command-line flags (flags win over the environment).
 *
 * Each setting has one environment variable (e.g. `ADABATCH_MAX_BATCH_SIZE`) and one flag, the
 * kebab-case of the same name (`--max-batch-size`). An invalid value is reported as a
 * `ConfigError` naming the variable or flag, the value and what is accepted.
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

type Parser<A> = (text: string) => Result.Result<A, string>

/**
 * One setting: its variable, its flag, how its text is read, and its help line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Setting {
  readonly key: keyof ServerConfig
  readonly env: string
  readonly flag: string
  /** Shown in `--help`, e.g. `<int>`. */
  readonly placeholder: string
  readonly description: string
  /** The default as shown in `--help`. */
  readonly shownDefault: string
  readonly boolean: boolean
  readonly parse: Parser<unknown>
}

const int = (min: number, max: number): Parser<number> => {
  const expected = `an integer from ${min} to ${max}`
  return (text) => {
    const trimmed = text.trim()
    if (!/^[+-]?\d+$/.test(trimmed)) return Result.fail(expected)
    const n = Number(trimmed)
    return Number.isSafeInteger(n) && n >= min && n <= max ? Result.succeed(n) : Result.fail(expected)
  }
}

const optionalInt = (min: number, max: number): Parser<number | undefined> => {
  const base = int(min, max)
  return (text) =>
    text.trim() === "auto"
      ? Result.succeed(undefined)
      : Result.mapError(base(text), (e) => `${e}, or auto`)
}

const oneOf = <const A extends string>(values: ReadonlyArray<A>): Parser<A> => (text) => {
  const lower = text.trim().toLowerCase()
  const found = values.find((v) => v === lower)
  return found === undefined ? Result.fail(`one of ${values.join(", ")}`) : Result.succeed(found)
}

const boolean: Parser<boolean> = (text) => {
  switch (text.trim().toLowerCase()) {
    case "true":
    case "1":
    case "yes":
    case "on":
      return Result.succeed(true)
    case "false":
    case "0":
    case "no":
    case "off":
      return Result.succeed(false)
    default:
      return Result.fail("true or false (also 1/0, yes/no, on/off)")
  }
}

const nonEmpty = (what: string): Parser<string> => (text) =>
  text.trim() === "" ? Result.fail(what) : Result.succeed(text.trim())

const sizeUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

/** Sizes use binary units: `512kb` is 524288 bytes. */
const sizeUpTo = (maxGb: number): Parser<number> => (text) => {
  const expected = `a size in bytes from 1 byte to ${maxGb}gb, such as 2097152, 512kb or 2mb`
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase())
  if (match === null) return Result.fail(expected)
  const unit = sizeUnits[match[2]!]
  if (unit === undefined) return Result.fail(expected)
  const bytes = Math.floor(Number(match[1]) * unit)
  return bytes >= 1 && bytes <= maxGb * 1024 ** 3 ? Result.succeed(bytes) : Result.fail(expected)
}

const byteSize = sizeUpTo(1)

const optionalSize = (maxGb: number): Parser<number | undefined> => {
  const base = sizeUpTo(maxGb)
  return (text) =>
    text.trim() === "auto" ? Result.succeed(undefined) : Result.mapError(base(text), (e) => `${e}, or auto`)
}

const queueDynamic: Parser<QueueDynamic | "on" | undefined> = (text) => {
  const expected = "off, on, or <floor>:<ceiling> with 1 <= floor <= ceiling <= 1000000"
  const trimmed = text.trim().toLowerCase()
  if (["off", "false", "0", "no"].includes(trimmed)) return Result.succeed(undefined)
  if (["on", "true", "1", "yes"].includes(trimmed)) return Result.succeed("on")
  const match = /^(\d+)\s*:\s*(\d+)$/.exec(trimmed)
  if (match === null) return Result.fail(expected)
  const floor = Number(match[1])
  const ceiling = Number(match[2])
  return floor >= 1 && floor <= ceiling && ceiling <= 1_000_000
    ? Result.succeed({ floor, ceiling })
    : Result.fail(expected)
}

const setting = (
  key: keyof ServerConfig,
  env: string,
  placeholder: string,
  parse: Parser<unknown>,
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

/**
 * What the command line asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | { readonly _tag: "Serve"; readonly config: ServerConfig }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }

const settingsByFlag = new Map(settings.map((s) => [s.flag, s]))

const finish = (values: Record<string, unknown>): Result.Result<ServerConfig, ConfigError> => {
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
 * Reads the configuration from environment variables and command-line arguments (without the
 * `node` and script entries). Flags win over the environment (a variable is not even read when its
 * flag is given); an empty variable counts as unset.
 * Flags take `--name value` or `--name=value`; boolean flags also take a bare `--name` (true) or
 * `--no-name` (false).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  env: Readonly<Record<string, string | undefined>>,
  argv: ReadonlyArray<string>
): Result.Result<Command, ConfigError> => {
  if (argv.includes("--help") || argv.includes("-h")) return Result.succeed({ _tag: "Help" })
  if (argv.includes("--version") || argv.includes("-v")) return Result.succeed({ _tag: "Version" })
  const values: Record<string, unknown> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) {
      return Result.fail(
        new ConfigError({
          source: `argument ${JSON.stringify(arg)}`,
          value: undefined,
          expected: "flags start with --"
        })
      )
    }
    const eq = arg.indexOf("=")
    let name = eq === -1 ? arg : arg.slice(0, eq)
    let text: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1)
    let s = settingsByFlag.get(name)
    if (s === undefined && name.startsWith("--no-") && text === undefined) {
      const positive = settingsByFlag.get(`--${name.slice(5)}`)
      if (positive !== undefined && positive.boolean) {
        s = positive
        name = positive.flag
        text = "false"
      }
    }
    if (s === undefined) {
      return Result.fail(
        new ConfigError({
          source: `unknown flag ${name}`,
          value: undefined,
          expected: "run with --help to list the flags"
        })
      )
    }
    if (text === undefined) {
      if (s.boolean) {
        text = "true"
      } else {
        const next = argv[i + 1]
        if (next === undefined || next.startsWith("--")) {
          return Result.fail(
            new ConfigError({ source: `flag ${name}`, value: undefined, expected: `a value: ${name} ${s.placeholder}` })
          )
        }
        text = next
        i++
      }
    }
    const parsed = s.parse(text)
    if (Result.isFailure(parsed)) {
      return Result.fail(
        new ConfigError({
          source: `flag ${name}`,
          value: s.key === "apiKey" ? "<redacted>" : text,
          expected: parsed.failure
        })
      )
    }
    values[s.key] = parsed.success
  }
  for (const s of settings) {
    const text = env[s.env]
    if (text === undefined || text === "" || s.key in values) continue
    const parsed = s.parse(text)
    if (Result.isFailure(parsed)) {
      return Result.fail(
        new ConfigError({
          source: `environment variable ${s.env}`,
          value: s.key === "apiKey" ? "<redacted>" : text,
          expected: parsed.failure
        })
      )
    }
    values[s.key] = parsed.success
  }
  return Result.map(finish(values), (config) => ({ _tag: "Serve", config }))
}

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

/**
 * The `--help` text.
 *
 * @since 0.1.0
 * @category parsing
 */
export const help = (program = "adabatch-server"): string => {
  const rows = settings.map((s) => ({
    left: `  ${s.flag} ${s.placeholder}`,
    env: s.env,
    text: `${s.description} Default: ${s.shownDefault}.`
  }))
  const width = Math.max(...rows.map((r) => r.left.length)) + 2
  const wrap = (text: string, indent: number): string => {
    const out: Array<string> = []
    let line = ""
    for (const word of text.split(" ")) {
      if (line.length > 0 && line.length + word.length + 1 > 110 - indent) {
        out.push(line)
        line = word
      } else {
        line = line.length === 0 ? word : `${line} ${word}`
      }
    }
    if (line.length > 0) out.push(line)
    return out.join(`\n${" ".repeat(indent)}`)
  }
  return [
    `Usage: ${program} [flags]`,
    "",
    "Serves text embeddings over HTTP: POST /embed, /, /invocations, /embed_all, /tokenize, /decode",
    "(TEI-compatible), POST /v1/embeddings and GET /v1/models (OpenAI-compatible), GET /health, /ready, /info,",
    "/metrics. Every flag can also be set by its environment variable; flags win.",
    "",
    "Flags:",
    ...rows.map((r) => `${r.left.padEnd(width)}[${r.env}]\n${" ".repeat(6)}${wrap(r.text, 6)}`),
    `  --help, -h`,
    `  --version, -v`,
    "",
    "An invalid value stops start-up with exit code 2."
  ].join("\n")
}
