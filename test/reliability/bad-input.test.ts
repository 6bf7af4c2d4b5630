/**
 * Bad input catalogue: malformed, mistyped, oversized, mis-encoded and slow requests against the
 * real server (in this process, tiny ONNX model, real HTTP on 127.0.0.1, exact bytes over raw
 * sockets). Each case must get its documented status and message (`ApiError` kinds for the API,
 * Node's own 400/408/431 for broken HTTP), while good requests sent at the same time keep
 * succeeding with the right embeddings.
 */
import { type Outcome, sleep } from "@adabatch/testkit/Client"
import { oneShot, Pool, requestBytes } from "@adabatch/testkit/RawHttp"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { brotliCompressSync, gzipSync } from "node:zlib"
import { Figures } from "./harness/Figures.js"
import * as InProcess from "./harness/InProcess.js"
import { json } from "./harness/Json.js"
import { text } from "./harness/Texts.js"

const figures = new Figures("bad-input")

/** The server's request budget; a stalled body or header must be cut off within about this. */
const requestTimeoutMs = 4_000 // generous: good requests must not 504 on a busy shared machine
const payloadLimit = 2 * 1024 * 1024
const maxClientBatch = 32

interface Case {
  readonly name: string
  /** The request, as exact bytes (written in `parts`, `gapMs` apart) on a new connection. */
  readonly parts: (port: number) => ReadonlyArray<Buffer>
  readonly gapMs?: number
  readonly head?: boolean
  readonly timeoutMs?: number
  readonly status: number
  /** `tei`: `{"error", "error_type"}`; `openai`: `{"error": {...}}`; `node`: Node's own answer; `ok`: embeddings. */
  readonly shape: "tei" | "openai" | "node" | "ok"
  /** TEI `error_type` or OpenAI `error.code`. */
  readonly type?: string
  readonly message?: RegExp
  /** Extra checks on the answer. */
  readonly check?: (o: Outcome) => void
}

const post = (path: string, body: string | Buffer | object, headers: Record<string, string> = {}) => (port: number) => [
  requestBytes(port, "POST", path, body, headers)
]
const embedBody = (body: string | Buffer | object, headers: Record<string, string> = {}) =>
  post("/embed", body, headers)
const bare = (method: string, path: string, headers: Record<string, string> = {}) => (port: number) => [
  requestBytes(port, method, path, undefined, headers)
]
const raw = (text: string) => () => [Buffer.from(text, "latin1")]

const tei = (
  name: string,
  parts: Case["parts"],
  status: number,
  type: string,
  message: RegExp,
  extra: Partial<Case> = {}
): Case => ({ name, parts, status, shape: "tei", type, message, ...extra })

const openai = (name: string, parts: Case["parts"], status: number, code: string, message: RegExp): Case => ({
  name,
  parts,
  status,
  shape: "openai",
  type: code,
  message
})

const ok = (name: string, parts: Case["parts"], vectors: number, extra: Partial<Case> = {}): Case => ({
  name,
  parts,
  status: 200,
  shape: "ok",
  check: (o) => {
    const body = json(o) as Array<Array<number>>
    expect(body).toHaveLength(vectors)
    for (const v of body) {
      expect(v).toHaveLength(32)
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0))
      expect(norm).toBeCloseTo(1, 4)
    }
  },
  ...extra
})

const words = (n: number) => Array.from({ length: n }, (_, i) => text(i, 1)).join(" ")
/** About 512 KB of English words: far over the model's 128 tokens, well under the payload limit. */
const bigText = words(100_000).slice(0, 512 * 1024)
const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`

const cases: ReadonlyArray<Case> = [
  // --- not JSON ---------------------------------------------------------------------------------
  tei("malformed JSON", embedBody("{\"inputs\": "), 400, "Validation", /^invalid JSON in the request body/),
  tei("truncated JSON array", embedBody("{\"inputs\": [\"a\", \"b\""), 400, "Validation", /^invalid JSON/),
  tei("JSON followed by garbage", embedBody("{\"inputs\": \"a\"} trailing"), 400, "Validation", /^invalid JSON/),
  tei("single quotes (not JSON)", embedBody("{'inputs': 'a'}"), 400, "Validation", /^invalid JSON/),
  tei("an empty body (content-length 0)", embedBody(""), 400, "Validation", /the request body is empty/),
  tei(
    "no body at all (POST without content-length)",
    bare("POST", "/embed", { "content-type": "application/json" }),
    400,
    "Validation",
    /the request body is empty/
  ),
  tei(
    "JSON nested 100,000 levels deep",
    embedBody("[".repeat(100_000) + "]".repeat(100_000)),
    422,
    "Validation",
    /^invalid request: the body must be a JSON object/
  ),
  // --- JSON of the wrong shape --------------------------------------------------------------------
  tei("the body is null", embedBody("null"), 422, "Validation", /the body must be a JSON object/),
  tei("the body is a string", embedBody("\"hello\""), 422, "Validation", /the body must be a JSON object/),
  tei("the body is a number", embedBody("42"), 422, "Validation", /the body must be a JSON object/),
  tei("the body is an array", embedBody([1, 2]), 422, "Validation", /must be a JSON object/),
  tei("inputs is missing", embedBody({}), 422, "Validation", /"inputs" is required/),
  tei("inputs misspelt as input", embedBody({ input: "a" }), 422, "Validation", /"inputs" is required/),
  tei(
    "inputs is null",
    embedBody({ inputs: null }),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids/
  ),
  tei(
    "inputs is a number",
    embedBody({ inputs: 5 }),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids/
  ),
  tei(
    "inputs is a boolean",
    embedBody({ inputs: true }),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids/
  ),
  tei(
    "inputs is an object",
    embedBody({ inputs: { a: 1 } }),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids/
  ),
  ok("inputs of numbers are one input of token ids (as in TEI)", embedBody({ inputs: [1010, 2000] }), 1),
  tei(
    "inputs holds a null",
    embedBody({ inputs: ["a", null] }),
    422,
    "Validation",
    /"inputs\[1\]" must be a string or an array of token ids/
  ),
  tei("inputs holds nested arrays", embedBody({ inputs: [["a"]] }), 422, "Validation", /"inputs\[0\]/),
  tei("inputs is an empty list", embedBody({ inputs: [] }), 400, "Empty", /`inputs` cannot be empty/),
  tei("inputs is an empty string", embedBody({ inputs: "" }), 400, "Empty", /`inputs` cannot be empty/),
  tei(
    "an empty string in the list",
    embedBody({ inputs: ["ok", ""] }),
    400,
    "Empty",
    /`inputs\[1\]` cannot be empty/
  ),
  tei(
    "normalize is a string",
    embedBody({ inputs: "a", normalize: "yes" }),
    422,
    "Validation",
    /"normalize" must be true or false/
  ),
  tei("truncate is a number", embedBody({ inputs: "a", truncate: 1 }), 422, "Validation", /"truncate" must be true/),
  tei(
    "a later duplicate key wins (inputs: 5)",
    embedBody("{\"inputs\": \"a\", \"inputs\": 5}"),
    422,
    "Validation",
    /"inputs" must be a string, an array of token ids/
  ),
  tei(
    "__proto__ carrying inputs (no prototype pollution)",
    embedBody("{\"__proto__\": {\"inputs\": \"a\"}}"),
    422,
    "Validation",
    /"inputs" is required/
  ),
  ok("extra unknown fields are ignored", embedBody({ inputs: "a", foo: 1, bar: { nested: [1, 2] } }), 1),
  ok("null normalize and truncate mean the defaults", embedBody({ inputs: "a", normalize: null, truncate: null }), 1),
  ok("only whitespace is a valid (if empty) text", embedBody({ inputs: "   \t\n  " }), 1),
  // --- sizes --------------------------------------------------------------------------------------
  tei(
    "a huge string (512 KB) longer than the model's maximum",
    embedBody({ inputs: bigText, truncate: false }),
    422,
    "Validation",
    /input 0 has at least \d+ tokens, more than the model's maximum of 128; send truncate: true/
  ),
  ok("a huge string (512 KB) with truncate: true", embedBody({ inputs: bigText, truncate: true }), 1),
  tei(
    "a string over the payload limit (3 MB)",
    embedBody({ inputs: "x".repeat(3 * 1024 * 1024) }),
    413,
    "Validation",
    /larger than the limit of 2097152 bytes \(ADABATCH_PAYLOAD_LIMIT\)/
  ),
  tei(
    "a chunked body over the payload limit (no content-length)",
    (port) => [
      Buffer.from(
        `POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
          "transfer-encoding: chunked\r\n\r\n",
        "latin1"
      ),
      ...Array.from({ length: 40 }, () => Buffer.from(chunk(" ".repeat(64 * 1024)), "latin1")),
      Buffer.from("0\r\n\r\n", "latin1")
    ],
    413,
    "Validation",
    /larger than the limit of 2097152 bytes/
  ),
  tei(
    "a huge array (100,000 inputs)",
    embedBody({ inputs: Array.from({ length: 100_000 }, () => "a") }),
    422,
    "Validation",
    /"inputs" has 100000 inputs, more than the limit of 32 per request/
  ),
  tei(
    "one input over the client batch limit",
    embedBody({ inputs: Array.from({ length: maxClientBatch + 1 }, (_, i) => text(i, 3)) }),
    422,
    "Validation",
    /has 33 inputs, more than the limit of 32 per request/
  ),
  ok(
    "exactly the client batch limit",
    embedBody({ inputs: Array.from({ length: maxClientBatch }, (_, i) => text(i, 3)) }),
    32
  ),
  // --- encodings ----------------------------------------------------------------------------------
  tei(
    "invalid UTF-8 bytes in a string",
    embedBody(Buffer.concat([Buffer.from("{\"inputs\": \"abc"), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("\"}")])),
    400,
    "Validation",
    /invalid UTF-8/
  ),
  tei(
    "an overlong UTF-8 encoding of '/'",
    embedBody(Buffer.concat([Buffer.from("{\"inputs\": \"a"), Buffer.from([0xc0, 0xaf]), Buffer.from("b\"}")])),
    400,
    "Validation",
    /invalid UTF-8/
  ),
  tei(
    "a UTF-16 body",
    embedBody(Buffer.from("{\"inputs\": \"a\"}", "utf16le"), { "content-type": "application/json; charset=utf-16" }),
    400,
    "Validation",
    /invalid (JSON|UTF-8)/
  ),
  tei(
    "a lone surrogate escape (\\ud800)",
    embedBody("{\"inputs\": \"\\ud800\"}"),
    400,
    "Validation",
    /"inputs" holds a lone UTF-16 surrogate \(\\ud800 at character 0\)/
  ),
  tei(
    "a lone surrogate inside the 4th input (a\\ud800b)",
    embedBody("{\"inputs\": [\"a\", \"b\", \"c\", \"a\\ud800b\"]}"),
    400,
    "Validation",
    /"inputs\[3\]" holds a lone UTF-16 surrogate \(\\ud800 at character 1\)/
  ),
  openai(
    "OpenAI: a lone low surrogate (\\udc00)",
    post("/v1/embeddings", "{\"input\": [\"ok\", \"x\\udc00\"]}"),
    400,
    "invalid_request",
    /"input\[1\]" holds a lone UTF-16 surrogate/
  ),
  ok("a surrogate pair escape (\\ud83d\\ude00)", embedBody("{\"inputs\": \"smile \\ud83d\\ude00\"}"), 1),
  ok("NUL and control characters", embedBody({ inputs: "a\u0000b\u0001c\u001f" }), 1),
  ok(
    "emoji, CJK, right-to-left and combining text",
    embedBody({ inputs: ["héllo 👋🏽", "你好世界", "שלום", "e\u0301"] }),
    4
  ),
  ok("a UTF-8 byte order mark before the JSON", embedBody(Buffer.from("\ufeff{\"inputs\": \"a\"}", "utf8")), 1),
  ok(
    "a gzip body (Content-Encoding: gzip)",
    embedBody(gzipSync("{\"inputs\": [\"a\", \"b\"]}"), {
      "content-encoding": "gzip"
    }),
    2
  ),
  ok(
    "a br body (Content-Encoding: br)",
    embedBody(brotliCompressSync("{\"inputs\": \"a\"}"), {
      "content-encoding": "br"
    }),
    1
  ),
  tei(
    "Content-Encoding: gzip on a plain body",
    embedBody("{\"inputs\": \"a\"}", { "content-encoding": "gzip" }),
    400,
    "Validation",
    /the request body is not valid gzip data \(Content-Encoding: gzip\)/
  ),
  tei(
    "Content-Encoding: zstd (not decoded here)",
    embedBody("{\"inputs\": \"a\"}", { "content-encoding": "zstd" }),
    415,
    "Validation",
    /unsupported content encoding "zstd": send the body uncompressed, or compressed with gzip, deflate or br/
  ),
  tei(
    "a gzip body that decodes past the payload limit",
    embedBody(gzipSync(`{"inputs": "${"a ".repeat(1_100_000)}"}`), { "content-encoding": "gzip" }),
    413,
    "Validation",
    /decoded request body is larger than the limit of 2097152 bytes/
  ),
  // --- content types ------------------------------------------------------------------------------
  tei(
    "content-type text/plain",
    embedBody("{\"inputs\": \"a\"}", { "content-type": "text/plain" }),
    415,
    "Validation",
    /unsupported content type "text\/plain": send application\/json/
  ),
  tei(
    "content-type form-urlencoded",
    embedBody("inputs=a", { "content-type": "application/x-www-form-urlencoded" }),
    415,
    "Validation",
    /unsupported content type/
  ),
  tei(
    "content-type multipart/form-data",
    embedBody("--x\r\n\r\na\r\n--x--", { "content-type": "multipart/form-data; boundary=x" }),
    415,
    "Validation",
    /unsupported content type/
  ),
  ok("no content-type header (taken as JSON)", (port) => {
    const body = Buffer.from("{\"inputs\": \"a\"}")
    return [
      Buffer.concat([
        Buffer.from(`POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${body.length}\r\n\r\n`),
        body
      ])
    ]
  }, 1),
  ok(
    "application/json with a charset",
    embedBody({ inputs: "a" }, { "content-type": "application/json; charset=utf-8" }),
    1
  ),
  // --- routes and methods -------------------------------------------------------------------------
  tei("an unknown route", bare("GET", "/nope"), 404, "Validation", /no route for GET \/nope/),
  tei("an unknown POST route", post("/v2/embed", { inputs: "a" }), 404, "Validation", /no route for POST \/v2\/embed/),
  openai("an unknown /v1 route", bare("GET", "/v1/files"), 404, "not_found", /no route for GET \/v1\/files/),
  tei("GET on /embed", bare("GET", "/embed"), 405, "Validation", /method GET is not allowed on \/embed/, {
    check: (o) => expect(o.headers["allow"]).toBe("POST")
  }),
  tei(
    "PUT on /embed",
    (port) => [requestBytes(port, "PUT", "/embed", { inputs: "a" })],
    405,
    "Validation",
    /method PUT is not allowed on \/embed; use POST/
  ),
  openai("DELETE on /v1/embeddings", bare("DELETE", "/v1/embeddings"), 405, "method_not_allowed", /method DELETE/),
  tei("OPTIONS on /embed", bare("OPTIONS", "/embed"), 405, "Validation", /method OPTIONS/),
  {
    name: "HEAD on /embed",
    parts: bare("HEAD", "/embed"),
    head: true,
    status: 405,
    shape: "node",
    check: (o) => expect(o.headers["allow"]).toBe("POST")
  },
  ok("a query string is ignored", post("/embed?debug=1&x=%ff", { inputs: "a" }), 1),
  openai(
    "OpenAI: token ids instead of text",
    post("/v1/embeddings", { input: [[1, 2, 3]] }),
    400,
    "invalid_request",
    /"input" is an array of token ids; this server embeds text only/
  ),
  openai(
    "OpenAI: an unknown encoding_format",
    post("/v1/embeddings", { input: "a", encoding_format: "hex" }),
    400,
    "invalid_request",
    /"encoding_format" must be "float" or "base64"/
  ),
  openai(
    "OpenAI: dimensions above the model's",
    post("/v1/embeddings", { input: "a", dimensions: 1000 }),
    400,
    "invalid_request",
    /"dimensions" is 1000, more than the model's 32 dimensions/
  ),
  {
    name: "OpenAI: an over-long input with truncate: true",
    parts: post("/v1/embeddings", { input: bigText, truncate: true }),
    status: 200,
    shape: "node",
    check: (o) => expect(json(o).data).toHaveLength(1)
  },
  openai(
    "OpenAI: an over-long input without truncate (the advice given works)",
    post("/v1/embeddings", { input: bigText }),
    422,
    "input_too_long",
    /more than the model's maximum of 128; send truncate: true/
  ),
  openai(
    "OpenAI: fractional dimensions",
    post("/v1/embeddings", { input: "a", dimensions: 2.5 }),
    400,
    "invalid_request",
    /"dimensions" must be a positive integer/
  ),
  // --- broken HTTP (answered by Node's parser) ------------------------------------------------------
  { name: "a garbage request line", parts: raw("GARBAGE\r\n\r\n"), status: 400, shape: "node" },
  {
    name: "content-length and transfer-encoding together (smuggling)",
    parts: (port) => [
      Buffer.from(
        `POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
          `content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n${chunk("{\"inputs\":\"a\"}")}0\r\n\r\n`,
        "latin1"
      )
    ],
    status: 400,
    shape: "node"
  },
  {
    name: "a header line of 20 KB",
    parts: bare("GET", "/health", { "x-big": "a".repeat(20 * 1024) }),
    status: 431,
    shape: "node"
  },
  {
    name: "a URL of 20 KB",
    parts: bare("GET", `/embed/${"a".repeat(20 * 1024)}`),
    status: 431,
    shape: "node"
  },
  // --- slow clients ---------------------------------------------------------------------------------
  ok(
    "a body sent slowly (20 pieces, 50 ms apart) but completely",
    (port) => {
      const bytes = requestBytes(port, "POST", "/embed", { inputs: "a slowly sent request body" })
      const size = Math.ceil(bytes.length / 20)
      return Array.from({ length: 20 }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
    },
    1,
    { gapMs: 50 }
  ),
  tei(
    "slow-loris: a body that stalls after 10 of its 100 bytes",
    (port) => [
      Buffer.from(
        `POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
          "content-length: 100\r\n\r\n{\"inputs\":",
        "latin1"
      )
    ],
    408,
    "Validation",
    /the request body did not arrive within 4000 ms \(ADABATCH_BODY_TIMEOUT_MS\)/,
    { timeoutMs: 3 * requestTimeoutMs + 2_000, check: (o) => expect(o.headers["connection"]).toBe("close") }
  ),
  {
    name: "slow-loris: headers that never end",
    parts: () => [Buffer.from("POST /embed HTTP/1.1\r\nhost: 127.0.0.1\r\nx-a: 1\r\n", "latin1")],
    timeoutMs: 3 * requestTimeoutMs + 2_000,
    status: 408,
    shape: "node"
  },
  ok("Expect: 100-continue", embedBody({ inputs: "a" }, { expect: "100-continue" }), 1),
  ok("a chunked body", (port) => [
    Buffer.from(
      `POST /embed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
        `transfer-encoding: chunked\r\n\r\n${chunk("{\"inputs\":")}${chunk("\"a\"}")}0\r\n\r\n`,
      "latin1"
    )
  ], 1),
  ok("HTTP/1.0 without a Host header", () => {
    const body = "{\"inputs\": \"a\"}"
    return [
      Buffer.from(
        `POST /embed HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        "latin1"
      )
    ]
  }, 1)
]

const f32 = (rows: ReadonlyArray<ReadonlyArray<number>>) => rows.map((r) => r.map((x) => Math.fround(x)))

const maxDiff = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<ReadonlyArray<number>>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.length !== b[i]!.length) return Infinity
    for (let j = 0; j < a[i]!.length; j++) d = Math.max(d, Math.abs(a[i]![j]! - b[i]![j]!))
  }
  return d
}

describe("bad input catalogue", () => {
  let server: InProcess.InProcessServer
  let pool: Pool
  const results: Array<{ name: string; status: number | undefined; error: string | undefined; ms: number }> = []
  const good = { sent: 0, ok: 0, wrong: 0, failed: [] as Array<string>, latencies: [] as Array<number> }
  let running = true
  let loops: Promise<unknown> = Promise.resolve()

  beforeAll(async () => {
    server = await InProcess.start({ requestTimeoutMs, payloadLimit, maxClientBatch, bodyTimeoutMs: requestTimeoutMs })
    const port = server.port
    pool = await Pool.open(port, 4)
    const goodTexts = Array.from({ length: 16 }, (_, i) => text(i, 10))
    const reference: Array<Array<Array<number>>> = []
    for (const t of goodTexts) {
      const o = await pool.send(requestBytes(port, "POST", "/embed", { inputs: t }))!
      expect(o.status).toBe(200)
      reference.push(f32(json(o)))
    }
    // good requests, four at a time, for as long as the catalogue runs
    loops = Promise.all(Array.from({ length: 4 }, async (_, lane) => {
      for (let i = lane; running; i += 4) {
        const k = i % goodTexts.length
        good.sent++
        const o = await pool.send(requestBytes(port, "POST", "/embed", { inputs: goodTexts[k]! }), {
          timeoutMs: 30_000
        })!
        good.latencies.push(o.latencyMs)
        if (o.status !== 200) good.failed.push(`${o.status ?? o.error}`)
        else if (maxDiff(f32(json(o)), reference[k]!) > 1e-5) good.wrong++
        else good.ok++
        await sleep(5)
      }
    }))
  })

  afterAll(async () => {
    running = false
    await loops
    pool?.close()
    figures.set("cases", cases.length)
    figures.set("results", results)
    figures.set("concurrentGood", {
      sent: good.sent,
      ok: good.ok,
      wrong: good.wrong,
      failed: good.failed.length,
      maxLatencyMs: Math.round(Math.max(0, ...good.latencies))
    })
    figures.write()
    await server?.close()
  })

  describe(`${cases.length} cases, each with its documented answer`, () => {
    it("the catalogue has at least 30 cases", () => {
      expect(cases.length).toBeGreaterThanOrEqual(30)
    })

    for (const c of cases) {
      it.concurrent(c.name, async () => {
        const port = server.port
        const o = await oneShot(port, c.parts(port), {
          timeoutMs: c.timeoutMs ?? 30_000,
          ...(c.gapMs === undefined ? {} : { gapMs: c.gapMs }),
          ...(c.head === undefined ? {} : { head: c.head })
        })
        results.push({ name: c.name, status: o.status, error: o.error, ms: Math.round(o.latencyMs) })
        expect(o.status, `answer: ${o.error ?? o.body.toString("utf8").slice(0, 80)}`).toBe(c.status)
        if (c.shape === "tei") {
          const body = json(o)
          expect(Object.keys(body).sort()).toEqual(["error", "error_type"])
          expect(body.error_type).toBe(c.type)
          expect(body.error).toMatch(c.message!)
          expect(o.headers["content-type"]).toBe("application/json")
        } else if (c.shape === "openai") {
          const body = json(o)
          expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"])
          expect(body.error.code).toBe(c.type)
          expect(body.error.message).toMatch(c.message!)
        }
        c.check?.(o)
      }, 60_000)
    }
  })

  describe("meanwhile", () => {
    it("good requests sent at the same time all succeeded, with the right embeddings", async () => {
      running = false
      await loops
      expect(good.sent).toBeGreaterThan(20)
      expect(good.failed).toEqual([])
      expect(good.wrong).toBe(0)
      expect(good.ok).toBe(good.sent)
    })
  })
})
