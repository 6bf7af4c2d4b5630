/**
 * The HTTP API over real loopback HTTP: the real server, the real engine, the echo model.
 */
import { Encoding } from "@adabatch/server"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import OpenAI from "openai"
import { embed, get, type Handle, post, type Reply, start } from "./helpers.js"
import { promtool, validate } from "./promtext.js"

let server: Handle
const texts = ["the quick brown fox", "jumps over the lazy dog", "hello world"]
let reference: Array<Array<number>>

const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((a, x) => a + x * x, 0))

/** Float32 values as a client decodes them from base64. */
const fromBase64 = (text: string): Array<number> => {
  const bytes = Buffer.from(text, "base64")
  const out: Array<number> = []
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i))
  return out
}

/** JSON numbers back to the float32 values they stand for. */
const f32 = (v: ReadonlyArray<number>) => v.map((x) => Math.fround(x))

beforeAll(async () => {
  server = await start({ maxClientBatch: 4, payloadLimit: 64 * 1024 })
  const reply = await embed(server, texts)
  expect(reply.status).toBe(200)
  reference = (reply.json as Array<Array<number>>).map(f32)
})

afterAll(() => server.close())

describe("POST /embed", () => {
  it("returns one unit vector per input, in order, with TEI timing headers", async () => {
    const reply = await embed(server, texts)
    expect(reply.status).toBe(200)
    expect(reply.headers.get("content-type")).toBe("application/json")
    const vectors = reply.json as Array<Array<number>>
    expect(vectors).toHaveLength(3)
    for (const v of vectors) {
      expect(v).toHaveLength(384)
      expect(norm(v)).toBeCloseTo(1, 5)
    }
    expect(vectors.map(f32)).toEqual(reference)
    expect(new Set(vectors.map((v) => v[0])).size).toBe(3)
    for (const h of ["x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time", "x-compute-tokens"]) {
      expect(reply.headers.get(h), h).toMatch(/^\d+$/)
    }
    expect(Number(reply.headers.get("x-compute-tokens"))).toBeGreaterThanOrEqual(texts.join(" ").split(" ").length)
  })

  it("takes a single string, and gives the same vector for the same text in any request", async () => {
    const single = await embed(server, texts[1]!)
    expect(single.status).toBe(200)
    expect((single.json as Array<Array<number>>).map(f32)).toEqual([reference[1]])
    const mixed = await embed(server, [texts[2]!, texts[0]!])
    expect((mixed.json as Array<Array<number>>).map(f32)).toEqual([reference[2], reference[0]])
  })

  it("serves the echo model at the configured dimension, with the same unit vectors for the same text", async () => {
    const small = await start({ echoDimension: 16 })
    try {
      const first = await embed(small, texts)
      const again = await embed(small, texts[1]!)
      expect(first.status).toBe(200)
      const vectors = first.json as Array<Array<number>>
      expect(vectors.map((v) => v.length)).toEqual([16, 16, 16])
      for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5)
      expect((again.json as Array<Array<number>>)[0]).toEqual(vectors[1])
      const info = await get(small, "/info")
      expect((info.json as { dimension: number }).dimension).toBe(16)
    } finally {
      await small.close()
    }
  })

  it("gives every response its own timing headers next to its content type and length", async () => {
    const [short, long] = await Promise.all([embed(server, "a b"), embed(server, ["hello there", "general kenobi"])])
    expect(short.headers.get("x-compute-characters")).toBe("3")
    expect(long.headers.get("x-compute-characters")).toBe("25")
    for (const reply of [short, long]) {
      expect(reply.headers.get("content-type")).toBe("application/json")
      expect(Number(reply.headers.get("content-length"))).toBe(Buffer.byteLength(reply.text))
    }
    const again = await embed(server, "a b")
    expect(again.headers.get("x-compute-characters")).toBe("3")
  })

  it("accepts normalize and truncate, and a JSON content type with parameters", async () => {
    const long = "word ".repeat(2000)
    const reply = await post(server, "/embed", { inputs: [long], truncate: true, normalize: false }, {
      headers: { "content-type": "application/json; charset=utf-8" }
    })
    expect(reply.status).toBe(200)
    expect(norm((reply.json as Array<Array<number>>)[0]!)).toBeCloseTo(1, 5) // echo only gives unit vectors
    expect(Number(reply.headers.get("x-compute-tokens"))).toBe(512)
  })

  it("writes every float so that it parses back to the exact float32", async () => {
    const reply = await embed(server, texts[0]!)
    const text = reply.text
    for (const token of text.slice(2, -2).split(",")) {
      expect(token).toMatch(/^-?(?:\d+(?:\.\d+)?|\d(?:\.\d+)?e-?\d+)$/)
      expect(Encoding.floatText(Number(token))).toBe(token)
    }
  })
})

describe("POST /v1/embeddings", () => {
  it("answers in OpenAI's shape, with usage and the model id", async () => {
    const reply = await post(server, "/v1/embeddings", { input: texts, model: "anything", user: "u1" })
    expect(reply.status).toBe(200)
    const body = reply.json
    expect(body.object).toBe("list")
    expect(body.model).toBe("echo")
    expect(body.usage.prompt_tokens).toBe(body.usage.total_tokens)
    expect(body.usage.prompt_tokens).toBeGreaterThan(0)
    expect(body.data.map((d: any) => [d.object, d.index])).toEqual([["embedding", 0], ["embedding", 1], [
      "embedding",
      2
    ]])
    expect(body.data.map((d: any) => f32(d.embedding))).toEqual(reference)
  })

  it("base64 is the little-endian float32 bytes of the same vectors", async () => {
    const reply = await post(server, "/v1/embeddings", { input: texts, encoding_format: "base64" })
    expect(reply.status).toBe(200)
    const decoded = reply.json.data.map((d: any) => fromBase64(d.embedding))
    expect(decoded).toEqual(reference)
  })

  it("dimensions truncates and re-normalises (Matryoshka)", async () => {
    const reply = await post(server, "/v1/embeddings", { input: texts[0], dimensions: 64 })
    expect(reply.status).toBe(200)
    const v = reply.json.data[0].embedding as Array<number>
    expect(v).toHaveLength(64)
    expect(norm(v)).toBeCloseTo(1, 5)
    const head = reference[0]!.slice(0, 64)
    const scale = norm(head)
    v.forEach((x, i) => expect(x).toBeCloseTo(head[i]! / scale, 6))
    const full = await post(server, "/v1/embeddings", { input: texts[0], dimensions: 384 })
    expect(f32(full.json.data[0].embedding)).toEqual(reference[0])
  })

  it("is also served at /embeddings", async () => {
    const reply = await post(server, "/embeddings", { input: texts[2] })
    expect(f32(reply.json.data[0].embedding)).toEqual(reference[2])
  })

  it("works with the official openai client: float, default (base64 under the hood) and base64", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 })
    const float = await client.embeddings.create({ model: "echo", input: texts, encoding_format: "float" })
    expect(float.data.map((d) => f32(d.embedding))).toEqual(reference)
    expect(float.model).toBe("echo")
    const byDefault = await client.embeddings.create({ model: "echo", input: texts })
    expect(byDefault.data.map((d) => f32(d.embedding))).toEqual(reference)
    const base64 = await client.embeddings.create({ model: "echo", input: texts[1]!, encoding_format: "base64" })
    expect(fromBase64(base64.data[0]!.embedding as unknown as string)).toEqual(reference[1])
    expect(base64.usage.total_tokens).toBeGreaterThan(0)
  })
})

describe("probes", () => {
  it("GET /health and /ready answer 200 once the model is up", async () => {
    expect((await get(server, "/health")).json).toEqual({ status: "ok" })
    const ready = await get(server, "/ready")
    expect(ready.status).toBe(200)
    expect(ready.json.status).toBe("ready")
    expect((await fetch(`${server.url}/health`, { method: "HEAD" })).status).toBe(200)
  })

  it("GET /info describes the model, the limits and the live batching policies", async () => {
    const info = await get(server, "/info")
    expect(info.status).toBe(200)
    expect(info.json).toMatchObject({
      model_id: "echo",
      model_kind: "echo",
      dimension: 384,
      max_input_length: 512,
      max_client_batch_size: 4,
      payload_limit: 64 * 1024,
      max_inflight_bytes: 32 * 64 * 1024,
      body_timeout_ms: 10_000,
      write_timeout_ms: 30_000,
      max_batch_requests: 32,
      max_batch_tokens: 16384,
      // the echo model has no inference workers to lay out
      layout: null,
      batching: {
        config: { batch_policy: "adaptive", wait_policy: "adaptive", overflow: "reject", queue_capacity: 1024 },
        current: { capacity: 1024, overflow: "reject", accepting: true }
      }
    })
    expect(info.json.batching.current.maxBatchSize).toBeLessThanOrEqual(32)
    expect(info.json.batching.current.policies).toBeDefined()
  })

  it("GET /metrics is valid Prometheus text with the engine's and the HTTP metrics", async () => {
    await embed(server, texts)
    const metrics = await get(server, "/metrics")
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4")
    const text = metrics.text
    expect(text).toMatch(/^adabatch_http_requests_total\{route="\/embed",method="POST",status="200"\} \d+$/m)
    expect(text).toMatch(/^adabatch_http_request_duration_seconds_bucket\{route="\/embed",le="\+Inf"\} \d+$/m)
    expect(text).toMatch(/^adabatch_http_requests_in_flight \d+$/m)
    expect(text).toMatch(/^adabatch_requests_total/m)
    expect(text).toMatch(/^adabatch_batch_size_bucket/m)
    expect(validate(text)).toEqual([])
    const fromPromtool = promtool(text)
    if (fromPromtool !== undefined) expect(fromPromtool).toEqual([])
  })
})

interface ErrorRow {
  readonly name: string
  readonly request: () => Promise<Reply>
  readonly status: number
  readonly message: RegExp
  /** TEI `error_type`, or OpenAI `error.code`. */
  readonly type: string
  readonly family: "tei" | "openai"
  readonly param?: string
  readonly header?: readonly [string, RegExp]
}

const tei = (
  name: string,
  request: () => Promise<Reply>,
  status: number,
  type: string,
  message: RegExp,
  header?: readonly [string, RegExp]
): ErrorRow => ({ name, request, status, type, message, family: "tei", ...(header ? { header } : {}) })

const openai = (
  name: string,
  request: () => Promise<Reply>,
  status: number,
  code: string,
  message: RegExp,
  param?: string
): ErrorRow => ({ name, request, status, type: code, message, family: "openai", ...(param ? { param } : {}) })

const chunked = (bytes: number) =>
  fetch(`${server.url}/embed`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new ReadableStream({
      start(controller) {
        const chunk = new TextEncoder().encode(" ".repeat(16 * 1024))
        for (let sent = 0; sent < bytes; sent += chunk.length) controller.enqueue(chunk)
        controller.close()
      }
    }),
    duplex: "half"
  } as RequestInit).then(async (r) => ({
    status: r.status,
    headers: r.headers,
    text: await r.text(),
    json: undefined as any
  })).then((r) => ({ ...r, json: JSON.parse(r.text) }))

const rows: ReadonlyArray<ErrorRow> = [
  tei("malformed JSON", () => post(server, "/embed", "{\"inputs\": "), 400, "Validation", /^invalid JSON in the/),
  tei("an empty body", () => post(server, "/embed", ""), 400, "Validation", /the request body is empty/),
  tei(
    "invalid UTF-8",
    () => post(server, "/embed", Uint8Array.of(...Buffer.from("{\"inputs\": \"a"), 0xff, 0xc3, 0x22, 0x7d)),
    400,
    "Validation",
    /^invalid UTF-8: the request body is not valid UTF-8/
  ),
  tei(
    "inputs of the wrong type",
    () => post(server, "/embed", { inputs: 5 }),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids, or an array of strings and token-id arrays/
  ),
  tei("no inputs", () => post(server, "/embed", { input: "x" }), 422, "Validation", /"inputs" is required/),
  tei(
    "a non-string input",
    () => post(server, "/embed", { inputs: ["a", 3] }),
    422,
    "Validation",
    /"inputs\[1\]" must be a string or an array of token ids/
  ),
  tei("an empty list", () => embed(server, []), 400, "Empty", /`inputs` cannot be empty/),
  tei("an empty string", () => embed(server, ""), 400, "Empty", /`inputs` cannot be empty/),
  tei("an empty string in a list", () => embed(server, ["a", ""]), 400, "Empty", /`inputs\[1\]` cannot be empty/),
  tei(
    "normalize of the wrong type",
    () => post(server, "/embed", { inputs: "a", normalize: "yes" }),
    422,
    "Validation",
    /"normalize" must be true or false/
  ),
  tei("a body that is not an object", () => post(server, "/embed", [1, 2]), 422, "Validation", /must be a JSON object/),
  tei(
    "more inputs than the client batch limit",
    () => embed(server, ["a", "b", "c", "d", "e"]),
    422,
    "Validation",
    /has 5 inputs, more than the limit of 4 per request/
  ),
  tei(
    "a body over the payload limit",
    () => embed(server, "x".repeat(100 * 1024)),
    413,
    "Validation",
    /larger than the limit of 65536 bytes \(ADABATCH_PAYLOAD_LIMIT\)/
  ),
  tei(
    "a chunked body over the payload limit",
    () => chunked(200 * 1024),
    413,
    "Validation",
    /larger than the limit of 65536 bytes/
  ),
  tei(
    "an input longer than the model's maximum with truncate: false",
    () => embed(server, ["ok", "word ".repeat(600)], { truncate: false }),
    422,
    "Validation",
    /input 1 has \d+ tokens, more than the model's maximum of 512; send truncate: true/
  ),
  tei(
    "a non-JSON content type",
    () => post(server, "/embed", "{\"inputs\":\"a\"}", { headers: { "content-type": "text/plain" } }),
    415,
    "Validation",
    /unsupported content type "text\/plain": send application\/json/
  ),
  tei("GET on /embed", () => get(server, "/embed"), 405, "Validation", /method GET is not allowed on \/embed/, [
    "allow",
    /^POST$/
  ]),
  tei("an unknown route", () => get(server, "/nope"), 404, "Validation", /no route for GET \/nope/),
  openai(
    "an unknown encoding_format",
    () => post(server, "/v1/embeddings", { input: "a", encoding_format: "hex" }),
    400,
    "invalid_request",
    /"encoding_format" must be "float" or "base64"/,
    "encoding_format"
  ),
  openai(
    "token-id array input",
    () => post(server, "/v1/embeddings", { input: [[1, 2, 3]] }),
    400,
    "invalid_request",
    /"input" is an array of token ids; this server embeds text only/,
    "input"
  ),
  openai(
    "dimensions above the model's",
    () => post(server, "/v1/embeddings", { input: "a", dimensions: 385 }),
    400,
    "invalid_request",
    /"dimensions" is 385, more than the model's 384 dimensions/,
    "dimensions"
  ),
  openai(
    "dimensions of zero",
    () => post(server, "/v1/embeddings", { input: "a", dimensions: 0 }),
    400,
    "invalid_request",
    /"dimensions" must be a positive integer/,
    "dimensions"
  ),
  openai(
    "malformed JSON",
    () => post(server, "/v1/embeddings", "{]"),
    400,
    "invalid_json",
    /^invalid JSON in the request body/
  ),
  openai(
    "invalid UTF-8 (an overlong encoding)",
    () => post(server, "/v1/embeddings", Uint8Array.of(...Buffer.from("{\"input\": \"a"), 0xc0, 0xaf, 0x22, 0x7d)),
    400,
    "invalid_json",
    /^invalid UTF-8: the request body is not valid UTF-8/
  ),
  openai(
    "an empty input list",
    () => post(server, "/v1/embeddings", { input: [] }),
    400,
    "invalid_request",
    /"input" must not be an empty list/,
    "input"
  ),
  openai(
    "more inputs than the client batch limit",
    () => post(server, "/v1/embeddings", { input: ["a", "b", "c", "d", "e", "f"] }),
    413,
    "too_many_inputs",
    /"input" has 6 inputs, more than the limit of 4/,
    "input"
  ),
  openai(
    "an input longer than the model's maximum",
    () => post(server, "/v1/embeddings", { input: "word ".repeat(600) }),
    422,
    "input_too_long",
    /more than the model's maximum of 512/,
    "input"
  ),
  openai(
    "GET on /v1/embeddings",
    () => get(server, "/v1/embeddings"),
    405,
    "method_not_allowed",
    /method GET is not allowed/
  ),
  openai("an unknown /v1 route", () => get(server, "/v1/files"), 404, "not_found", /no route for GET \/v1\/files/)
]

describe("errors", () => {
  for (const row of rows) {
    it(`${row.status} for ${row.name} (${row.family} shape), and a concurrent good request is unaffected`, async () => {
      const [bad, good] = await Promise.all([row.request(), embed(server, texts)])
      expect(bad.status).toBe(row.status)
      expect(bad.headers.get("content-type")).toBe("application/json")
      if (row.family === "tei") {
        expect(Object.keys(bad.json).sort()).toEqual(["error", "error_type"])
        expect(bad.json.error_type).toBe(row.type)
        expect(bad.json.error).toMatch(row.message)
      } else {
        expect(Object.keys(bad.json)).toEqual(["error"])
        expect(Object.keys(bad.json.error).sort()).toEqual(["code", "message", "param", "type"])
        expect(bad.json.error.code).toBe(row.type)
        expect(bad.json.error.type).toBe("invalid_request_error")
        expect(bad.json.error.message).toMatch(row.message)
        expect(bad.json.error.param).toBe(row.param ?? null)
      }
      if (row.header !== undefined) expect(bad.headers.get(row.header[0])).toMatch(row.header[1])
      expect(good.status).toBe(200)
      expect((good.json as Array<Array<number>>).map(f32)).toEqual(reference)
    })
  }
})

describe("API key", () => {
  let secured: Handle
  beforeAll(async () => {
    secured = await start({ apiKey: Redacted.make("s3cret-key") })
  })
  afterAll(() => secured.close())

  it("401 without, with a malformed and with a wrong key, in each family's shape", async () => {
    const missing = await embed(secured, "a")
    expect(missing.status).toBe(401)
    expect(missing.json).toEqual({
      error: "missing API key: send the header Authorization: Bearer <key>",
      error_type: "Validation"
    })
    expect(missing.headers.get("www-authenticate")).toBe("Bearer")
    const malformed = await post(secured, "/embed", { inputs: "a" }, { headers: { authorization: "s3cret-key" } })
    expect(malformed.status).toBe(401)
    expect(malformed.json.error).toMatch(/malformed Authorization header/)
    const wrong = await post(secured, "/v1/embeddings", { input: "a" }, {
      headers: { authorization: "Bearer s3cret-kez" }
    })
    expect(wrong.status).toBe(401)
    expect(wrong.json.error).toMatchObject({ code: "unauthorized", type: "authentication_error" })
    expect((await get(secured, "/info")).status).toBe(401)
  })

  it("serves with the right key; /health, /ready and /metrics stay open", async () => {
    const ok = await post(secured, "/embed", { inputs: texts }, { headers: { authorization: "Bearer s3cret-key" } })
    expect(ok.status).toBe(200)
    expect((ok.json as Array<Array<number>>).map(f32)).toEqual(reference)
    expect((await get(secured, "/info", { authorization: "bearer s3cret-key" })).status).toBe(200)
    for (const path of ["/health", "/ready", "/metrics"]) expect((await get(secured, path)).status).toBe(200)
    const client = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: "s3cret-key", maxRetries: 0 })
    const result = await client.embeddings.create({ model: "echo", input: texts[0]! })
    expect(f32(result.data[0]!.embedding)).toEqual(reference[0])
    const refused = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: "nope", maxRetries: 0 })
    await expect(refused.embeddings.create({ model: "echo", input: "a" })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError
    )
  })
})
