import { EngineLayers } from "@adabatch/core"
import { ServerConfig } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Redacted, Result } from "effect"
import { readFileSync } from "node:fs"

const serve = (env: Record<string, string>, argv: ReadonlyArray<string> = []): ServerConfig.ServerConfig => {
  const result = ServerConfig.parse(env, argv)
  if (Result.isFailure(result)) throw new Error(`unexpected failure: ${result.failure.message}`)
  if (result.success._tag !== "Serve") throw new Error(`unexpected command ${result.success._tag}`)
  return result.success.config
}

const failure = (env: Record<string, string>, argv: ReadonlyArray<string> = []): ServerConfig.ConfigError => {
  const result = ServerConfig.parse(env, argv)
  if (Result.isSuccess(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

describe("ServerConfig", () => {
  it("uses the documented defaults with an empty environment", () => {
    const config = serve({})
    expect(config).toEqual(ServerConfig.defaults)
    expect(config.host).toBe("127.0.0.1")
    expect(config.port).toBe(8080)
    expect(config.maxBatchSize).toBe(32)
    expect(config.maxBatchTokens).toBe(16384)
    expect(config.maxClientBatch).toBe(2048)
    expect(config.payloadLimit).toBe(2 * 1024 * 1024)
    expect(config.requestTimeoutMs).toBe(30_000)
    expect(config.drainTimeoutMs).toBe(10_000)
    expect(config.queueCapacity).toBe(1024)
    expect(config.overflow).toBe("reject")
  })

  it("reads every environment variable", () => {
    const config = serve({
      HOST: "0.0.0.0",
      PORT: "9000",
      ADABATCH_MODEL: "echo",
      ADABATCH_MAX_BATCH_SIZE: "64",
      ADABATCH_MAX_BATCH_TOKENS: "8192",
      ADABATCH_MAX_WAIT_MS: "3",
      ADABATCH_QUEUE_CAPACITY: "256",
      ADABATCH_OVERFLOW: "backpressure",
      ADABATCH_SHED_LATE: "off",
      ADABATCH_ECHO_DIMENSION: "32",
      ADABATCH_WORKERS: "2",
      ADABATCH_THREADS: "1",
      ADABATCH_RECALIBRATE: "true",
      ADABATCH_REQUEST_TIMEOUT_MS: "1500",
      ADABATCH_RUN_TIMEOUT_MS: "4000",
      ADABATCH_MAX_CONCURRENT_REQUESTS: "64",
      ADABATCH_MAX_CLIENT_BATCH: "8",
      ADABATCH_PAYLOAD_LIMIT: "512kb",
      ADABATCH_API_KEY: "sekret",
      ADABATCH_DRAIN_TIMEOUT_MS: "250",
      ADABATCH_BATCH_POLICY: "fixed",
      ADABATCH_WAIT_POLICY: "none",
      ADABATCH_ISOLATE_FAILURES: "false",
      ADABATCH_QUEUE_DYNAMIC: "128:1024",
      ADABATCH_TARGET_LATENCY_MS: "200",
      ADABATCH_AUTO_TRUNCATE: "yes",
      ADABATCH_MAX_INFLIGHT_BYTES: "16mb",
      ADABATCH_BODY_TIMEOUT_MS: "2500",
      ADABATCH_WRITE_TIMEOUT_MS: "4000"
    })
    expect({ ...config, apiKey: config.apiKey && Redacted.value(config.apiKey) }).toEqual({
      host: "0.0.0.0",
      port: 9000,
      model: "echo",
      maxBatchSize: 64,
      maxBatchTokens: 8192,
      maxWaitMs: 3,
      queueCapacity: 256,
      overflow: "backpressure",
      shedLate: false,
      echoDimension: 32,
      workers: 2,
      threads: 1,
      recalibrate: true,
      requestTimeoutMs: 1500,
      runTimeoutMs: 4000,
      maxConcurrentRequests: 64,
      maxClientBatch: 8,
      payloadLimit: 512 * 1024,
      apiKey: "sekret",
      drainTimeoutMs: 250,
      batchPolicy: "fixed",
      waitPolicy: "none",
      isolateFailures: false,
      queueDynamic: { floor: 128, ceiling: 1024 },
      targetLatencyMs: 200,
      autoTruncate: true,
      maxInflightBytes: 16 * 1024 * 1024,
      bodyTimeoutMs: 2500,
      writeTimeoutMs: 4000
    })
  })

  it("lets flags win over the environment, in both --flag value and --flag=value forms", () => {
    const config = serve(
      { PORT: "9000", ADABATCH_MODEL: "tiny", ADABATCH_MAX_BATCH_SIZE: "64", ADABATCH_ISOLATE_FAILURES: "true" },
      ["--port", "9100", "--model=echo", "--max-batch-size", "16", "--no-isolate-failures", "--auto-truncate"]
    )
    expect(config.port).toBe(9100)
    expect(config.model).toBe("echo")
    expect(config.maxBatchSize).toBe(16)
    expect(config.isolateFailures).toBe(false)
    expect(config.autoTruncate).toBe(true)
  })

  it("treats an empty variable as unset and accepts auto for the thread counts", () => {
    const config = serve({ PORT: "", ADABATCH_WORKERS: "auto" }, ["--threads", "auto"])
    expect(config.port).toBe(8080)
    expect(config.workers).toBeUndefined()
    expect(config.threads).toBeUndefined()
    // both auto: the model calibrates its layout; --recalibrate forces a new calibration
    expect(EngineLayers.modelOptions(config)).toMatchObject({
      workers: "auto",
      intraOpNumThreads: "auto",
      recalibrate: false
    })
    expect(EngineLayers.modelOptions(serve({}, ["--recalibrate"])).recalibrate).toBe(true)
    expect(EngineLayers.modelOptions(serve({ ADABATCH_WORKERS: "3" })).workers).toBe(3)
  })

  it("gives batches the request timeout + 1 s as their run timeout unless one is set", () => {
    expect(EngineLayers.runTimeoutMs(serve({ ADABATCH_REQUEST_TIMEOUT_MS: "1500" }))).toBe(2500)
    expect(EngineLayers.runTimeoutMs(serve({ ADABATCH_RUN_TIMEOUT_MS: "auto" }))).toBe(31_000)
    const config = serve({ ADABATCH_REQUEST_TIMEOUT_MS: "1500" }, ["--run-timeout-ms", "9000"])
    expect(EngineLayers.runTimeoutMs(config)).toBe(9000)
    expect(EngineLayers.modelOptions(config).runTimeout).toEqual(Duration.millis(9000))
    expect(failure({ ADABATCH_RUN_TIMEOUT_MS: "0" }).message).toContain("ADABATCH_RUN_TIMEOUT_MS")
  })

  it("expands queue-dynamic on to the capacity and four times it", () => {
    expect(serve({ ADABATCH_QUEUE_CAPACITY: "100", ADABATCH_QUEUE_DYNAMIC: "on" }).queueDynamic).toEqual({
      floor: 100,
      ceiling: 400
    })
    expect(serve({ ADABATCH_QUEUE_DYNAMIC: "off" }).queueDynamic).toBeUndefined()
  })

  it("names the variable, the value and the accepted values for an invalid environment value", () => {
    const e = failure({ ADABATCH_MAX_BATCH_SIZE: "abc" })
    expect(e.source).toBe("environment variable ADABATCH_MAX_BATCH_SIZE")
    expect(e.message).toBe(
      "invalid value \"abc\" for environment variable ADABATCH_MAX_BATCH_SIZE: expected an integer from 1 to 4096"
    )
    expect(failure({ ADABATCH_OVERFLOW: "drop" }).message).toContain("expected one of reject, backpressure")
    expect(failure({ ADABATCH_BATCH_POLICY: "learned" }).message).toContain("expected one of adaptive, fixed")
    expect(failure({ ADABATCH_WAIT_POLICY: "x" }).message).toContain("expected one of adaptive, fixed, none")
    expect(failure({ PORT: "70000" }).message).toContain("PORT: expected an integer from 0 to 65535")
    expect(failure({ ADABATCH_ISOLATE_FAILURES: "maybe" }).message).toContain("expected true or false")
    expect(failure({ ADABATCH_PAYLOAD_LIMIT: "2 parsecs" }).message).toContain("expected a size in bytes")
    expect(failure({ ADABATCH_QUEUE_DYNAMIC: "9:3" }).message).toContain("<floor>:<ceiling>")
    expect(failure({ ADABATCH_MAX_WAIT_MS: "-1" }).message).toContain("ADABATCH_MAX_WAIT_MS")
    expect(failure({ ADABATCH_REQUEST_TIMEOUT_MS: "1.5" }).message).toContain("an integer")
  })

  it("names the flag for an invalid flag value, a missing value and an unknown flag", () => {
    const e = failure({}, ["--max-batch-size", "0"])
    expect(e.source).toBe("flag --max-batch-size")
    expect(e.message).toBe("invalid value \"0\" for flag --max-batch-size: expected an integer from 1 to 4096")
    expect(failure({}, ["--overflow"]).message).toBe("flag --overflow: a value: --overflow <mode>")
    expect(failure({}, ["--frobnicate", "1"]).message).toContain("unknown flag --frobnicate")
    expect(failure({}, ["serve"]).message).toContain("flags start with --")
    // the flag's error wins even when the environment is valid
    expect(failure({ ADABATCH_OVERFLOW: "reject" }, ["--overflow=drop"]).source).toBe("flag --overflow")
    // a flag replaces an invalid variable, which is then not read at all
    expect(serve({ ADABATCH_OVERFLOW: "drop", PORT: "x" }, ["--overflow", "backpressure", "--port=1"])).toMatchObject({
      overflow: "backpressure",
      port: 1
    })
  })

  it("names an invalid flag before an invalid variable, whatever their order in the settings", () => {
    // --overflow comes after ADABATCH_MAX_BATCH_SIZE in the settings: the flag is still named
    const e = failure({ ADABATCH_MAX_BATCH_SIZE: "abc" }, ["--overflow=drop"])
    expect(e.source).toBe("flag --overflow")
    expect(failure({ ADABATCH_MAX_BATCH_SIZE: "abc", ADABATCH_OVERFLOW: "drop" }).source).toBe(
      "environment variable ADABATCH_MAX_BATCH_SIZE"
    )
  })

  it("reads boolean flags bare, negated, with = or with a separate value", () => {
    expect(serve({ ADABATCH_SHED_LATE: "on" }, ["--no-shed-late"]).shedLate).toBe(false)
    expect(serve({ ADABATCH_SHED_LATE: "off" }, ["--shed-late"]).shedLate).toBe(true)
    expect(serve({}, ["--shed-late=off"]).shedLate).toBe(false)
    expect(serve({}, ["--shed-late", "false", "--port", "1"])).toMatchObject({ shedLate: false, port: 1 })
    expect(failure({}, ["--shed-late=maybe"]).message).toBe(
      "invalid value \"maybe\" for flag --shed-late: expected true or false (also 1/0, yes/no, on/off)"
    )
  })

  it("lets the last of a repeated flag win, after checking each", () => {
    expect(serve({}, ["--host", "127.0.0.1", "--port", "0", "--port", "9100", "--host=0.0.0.0"])).toMatchObject({
      host: "0.0.0.0",
      port: 9100
    })
    expect(failure({}, ["--port", "x", "--port", "1"]).message).toBe(
      "invalid value \"x\" for flag --port: expected an integer from 0 to 65535"
    )
  })

  it("never echoes an API key in an error", () => {
    expect(failure({ ADABATCH_API_KEY: "x" }, ["--api-key="]).message).not.toContain("x\"")
  })

  it("checks that the dynamic queue bounds surround the capacity", () => {
    const e = failure({ ADABATCH_QUEUE_CAPACITY: "50", ADABATCH_QUEUE_DYNAMIC: "100:200" })
    expect(e.message).toContain("ADABATCH_QUEUE_DYNAMIC")
    expect(e.message).toContain("queue capacity 50")
  })

  it("answers --help and --version, and the help lists every variable and flag", () => {
    expect(ServerConfig.parse({}, ["--help"])).toEqual(Result.succeed({ _tag: "Help" }))
    expect(ServerConfig.parse({ PORT: "bad" }, ["--port", "x", "-h"])).toEqual(Result.succeed({ _tag: "Help" }))
    expect(ServerConfig.parse({}, ["--version"])).toEqual(Result.succeed({ _tag: "Version" }))
    const help = ServerConfig.help()
    for (const s of ServerConfig.settings) {
      expect(help).toContain(`[${s.env}]`)
      expect(help).toContain(s.boolean ? s.flag : `${s.flag} ${s.placeholder}`)
      expect(help).toContain(`Default: ${s.shownDefault}.`)
      if (s.boolean) expect(help).toContain(`--no-${s.flag.slice(2)}`)
    }
    expect(help).toContain("--help, -h")
    expect(help).toContain("--version, -v")
    expect(help).toContain("exit code 2")
  })

  it("both READMEs' configuration tables list every setting's variable and flag", () => {
    for (const path of ["../../../README.md", "../README.md"]) {
      const readme = readFileSync(new URL(path, import.meta.url), "utf8")
      for (const s of ServerConfig.settings) expect(readme, path).toContain(`| \`${s.env}\` | \`${s.flag}\` |`)
    }
  })

  it("reads the echo model's dimension from ADABATCH_ECHO_DIMENSION and --echo-dimension (auto: unset)", () => {
    expect(serve({ ADABATCH_ECHO_DIMENSION: "16" }).echoDimension).toBe(16)
    expect(serve({ ADABATCH_ECHO_DIMENSION: "16" }, ["--echo-dimension=4"]).echoDimension).toBe(4)
    expect(serve({ ADABATCH_ECHO_DIMENSION: "auto" }).echoDimension).toBeUndefined()
    expect(failure({ ADABATCH_ECHO_DIMENSION: "0" }).message).toContain("ADABATCH_ECHO_DIMENSION")
    expect(failure({}, ["--echo-dimension", "x"]).message).toContain("--echo-dimension")
  })

  it("budgets 32 payload limits of bytes in flight unless set, and never less than one payload limit", () => {
    expect(ServerConfig.inflightBytes(serve({}))).toBe(64 * 1024 * 1024)
    expect(ServerConfig.inflightBytes(serve({ ADABATCH_PAYLOAD_LIMIT: "1mb" }))).toBe(32 * 1024 * 1024)
    expect(ServerConfig.inflightBytes(serve({}, ["--max-inflight-bytes", "3mb"]))).toBe(3 * 1024 * 1024)
    expect(serve({ ADABATCH_MAX_INFLIGHT_BYTES: "auto" }).maxInflightBytes).toBeUndefined()
    expect(serve({}, ["--max-inflight-bytes=8gb"]).maxInflightBytes).toBe(8 * 1024 ** 3)
    const e = failure({ ADABATCH_MAX_INFLIGHT_BYTES: "1mb" })
    expect(e.message).toContain("ADABATCH_MAX_INFLIGHT_BYTES")
    expect(e.message).toContain("at least the payload limit of 2097152 bytes")
    expect(failure({ ADABATCH_BODY_TIMEOUT_MS: "0" }).message).toContain("ADABATCH_BODY_TIMEOUT_MS")
    expect(failure({}, ["--write-timeout-ms", "soon"]).message).toContain("--write-timeout-ms")
  })

  it("make applies overrides and the same cross-field checks", () => {
    expect(ServerConfig.make({ port: 0, model: "echo" }).port).toBe(0)
    expect(() => ServerConfig.make({ queueCapacity: 10, queueDynamic: { floor: 20, ceiling: 40 } })).toThrow(
      /queue capacity 10/
    )
  })
})
