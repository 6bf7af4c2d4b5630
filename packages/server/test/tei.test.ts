/**
 * TEI parity over real loopback HTTP, with the tiny ONNX model in a real worker thread: the routes
 * and fields of text-embeddings-inference's embedding-model API, stated here as this project
 * expects them (fields, types, status codes, `error_type` values).
 */
import { BuiltinModel } from "@adabatch/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { get, type Handle, post, type Reply, start } from "./helpers.js"

/** TEI's `ErrorType` values, as its server sends them. */
const TEI_ERROR_TYPES = ["Unhealthy", "Backend", "Overloaded", "Validation", "Tokenizer", "Empty"]

const expectError = (reply: Reply, status: number, type: string, message?: RegExp) => {
  expect(reply.status).toBe(status)
  expect(reply.headers.get("content-type")).toBe("application/json")
  expect(Object.keys(reply.json).sort()).toEqual(["error", "error_type"])
  expect(TEI_ERROR_TYPES).toContain(reply.json.error_type)
  expect(reply.json.error_type).toBe(type)
  expect(typeof reply.json.error).toBe("string")
  if (message !== undefined) expect(reply.json.error).toMatch(message)
}

const f32 = (v: ReadonlyArray<number>) => v.map((x) => Math.fround(x))
const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((a, x) => a + x * x, 0))
const unit = (v: ReadonlyArray<number>) => v.map((x) => x / norm(v))
const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, tolerance = 1e-5) => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tolerance)
}

let tiny: Handle
let prompted: Handle
let echo: Handle
let promptDir: string
const key = "tei-key"
const auth = { headers: { authorization: `Bearer ${key}` } }

beforeAll(async () => {
  const tinyDir = await Effect.runPromise(BuiltinModel.ensureBuiltinModel("tiny"))
  promptDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-prompts-"))
  for (const file of Fs.readdirSync(tinyDir)) {
    if (file !== "SHA256SUMS") Fs.copyFileSync(Path.join(tinyDir, file), Path.join(promptDir, file))
  }
  Fs.writeFileSync(
    Path.join(promptDir, "config_sentence_transformers.json"),
    JSON.stringify({ prompts: { query: "query: ", passage: "passage: " }, default_prompt_name: null })
  )
  ;[tiny, prompted, echo] = await Promise.all([
    start({ model: "tiny", queueCapacity: 64 }),
    start({
      model: promptDir,
      defaultPromptName: "query",
      servedModelName: "my-embedder",
      apiKey: Redacted.make(key)
    }),
    start({ model: "echo" })
  ])
})

afterAll(async () => {
  await Promise.all([tiny?.close(), prompted?.close(), echo?.close()])
  Fs.rmSync(promptDir, { recursive: true, force: true })
})

const embedOn = async (server: Handle, body: object, init = {}): Promise<Array<Array<number>>> => {
  const reply = await post(server, "/embed", body, init)
  expect(reply.status).toBe(200)
  return (reply.json as Array<Array<number>>).map(f32)
}

const tokenize = async (server: Handle, body: object, init = {}) => {
  const reply = await post(server, "/tokenize", body, init)
  expect(reply.status).toBe(200)
  return reply.json as Array<
    Array<{ id: number; text: string; special: boolean; start: number | null; stop: number | null }>
  >
}

describe("GET /info", () => {
  it("has every field TEI's Info requires, with TEI's types, and adabatch's own", async () => {
    const info = (await get(tiny, "/info")).json
    for (const field of ["model_id", "model_dtype", "served_model_name", "version"]) {
      expect(typeof info[field]).toBe("string")
    }
    for (
      const field of [
        "max_concurrent_requests",
        "max_input_length",
        "max_batch_tokens",
        "max_client_batch_size",
        "tokenization_workers"
      ]
    ) {
      expect(Number.isInteger(info[field]) && info[field] >= 0).toBe(true)
    }
    expect(typeof info.auto_truncate).toBe("boolean")
    expect(info.model_type).toEqual({ embedding: { pooling: "mean" } })
    expect(info).toMatchObject({
      model_id: "adabatch/tiny-random",
      served_model_name: "adabatch/tiny-random",
      model_dtype: "float32",
      max_input_length: 128,
      max_client_batch_size: 2048,
      model_sha: null,
      sha: null,
      docker_label: null,
      dimension: 32,
      token_states: true
    })
    expect(Number.isInteger(info.max_batch_requests)).toBe(true)
  })

  it("reports the served model name and the model's prompts", async () => {
    const info = (await get(prompted, "/info", auth.headers)).json
    expect(info.served_model_name).toBe("my-embedder")
    expect(info.prompts).toEqual({ query: "query: ", passage: "passage: " })
    expect(info.default_prompt_name).toBe("query")
  })
})

describe("POST /embed, / and /invocations", () => {
  it("POST / and /invocations are /embed; GET / is a health check, open without the API key", async () => {
    const texts = ["hello world", "the quick brown fox"]
    const reference = await embedOn(tiny, { inputs: texts })
    for (const path of ["/", "/invocations"]) {
      const reply = await post(tiny, path, { inputs: texts })
      expect(reply.status).toBe(200)
      expect((reply.json as Array<Array<number>>).map(f32)).toEqual(reference)
      expect(reply.headers.get("x-compute-tokens")).not.toBeNull()
    }
    expect((await get(prompted, "/")).status).toBe(200)
    expect((await get(prompted, "/ping")).status).toBe(200)
    expect((await post(prompted, "/", { inputs: "a" })).status).toBe(401)
    expect((await post(prompted, "/", { inputs: "a" }, auth)).status).toBe(200)
  })

  it("dimensions: cut to the first values, then re-normalised (or not, with normalize: false)", async () => {
    const [full] = await embedOn(tiny, { inputs: "hello world" })
    const [cut] = await embedOn(tiny, { inputs: "hello world", dimensions: 8 })
    close(cut!, unit(full!.slice(0, 8)))
    expect(norm(cut!)).toBeCloseTo(1, 5)
    const [raw] = await embedOn(tiny, { inputs: "hello world", dimensions: 8, normalize: false })
    close(raw!, full!.slice(0, 8))
    expect((await embedOn(tiny, { inputs: "hello world", dimensions: 32 }))[0]).toEqual(full)
    expectError(await post(tiny, "/embed", { inputs: "a", dimensions: 0 }), 422, "Validation", /"dimensions"/)
    expectError(
      await post(tiny, "/embed", { inputs: "a", dimensions: 33 }),
      422,
      "Validation",
      /more than the model's 32/
    )
    expectError(await post(tiny, "/embed", { inputs: "a", dimensions: -1 }), 422, "Validation", /"dimensions"/)
  })

  it("token ids are inputs: one list is one input, a list of them a batch, mixed with texts", async () => {
    const [tokens] = await tokenize(tiny, { inputs: "hello world" })
    const ids = tokens!.map((t) => t.id)
    const [fromText] = await embedOn(tiny, { inputs: "hello world" })
    expect(await embedOn(tiny, { inputs: ids })).toEqual([fromText])
    expect(await embedOn(tiny, { inputs: [ids] })).toEqual([fromText])
    expect(await embedOn(tiny, { inputs: ["hello world", ids] })).toEqual([fromText, fromText])
    expectError(await post(tiny, "/embed", { inputs: [] }), 400, "Empty", /`inputs` cannot be empty/)
    expectError(await post(tiny, "/embed", { inputs: ["a", []] }), 400, "Empty", /`inputs\[1\]` cannot be empty/)
    expectError(
      await post(tiny, "/embed", { inputs: [[101, 1.5]] }),
      422,
      "Validation",
      /"inputs\[0\]\[1\]" must be a token id/
    )
    expectError(
      await post(tiny, "/embed", { inputs: [[101, 10_000_000, 102]] }),
      422,
      "Tokenizer",
      /not in the vocabulary/
    )
  })

  it("truncation_direction: Right keeps the start, Left the end, [CLS] and [SEP] kept", async () => {
    const words = Array.from(
      { length: 200 },
      (_, i) => ["alpha", "river", "stone", "green", "light"][i % 5]! + ` w${i}`
    )
    const text = words.join(" ")
    const [all] = await tokenize(tiny, { inputs: text })
    const ids = all!.map((t) => t.id)
    expect(ids.length).toBeGreaterThan(128)
    const [cls, sep] = [ids[0]!, ids.at(-1)!]
    const content = ids.slice(1, -1)
    const [right] = await embedOn(tiny, { inputs: [[cls, ...content.slice(0, 126), sep]] })
    const [left] = await embedOn(tiny, { inputs: [[cls, ...content.slice(-126), sep]] })
    expect(await embedOn(tiny, { inputs: text, truncate: true })).toEqual([right])
    expect(await embedOn(tiny, { inputs: text, truncate: true, truncation_direction: "Right" })).toEqual([right])
    expect(await embedOn(tiny, { inputs: text, truncate: true, truncation_direction: "Left" })).toEqual([left])
    expect(await embedOn(tiny, { inputs: text, truncate: true, truncation_direction: "left" })).toEqual([left])
    expect(left).not.toEqual(right)
    expectError(await post(tiny, "/embed", { inputs: text }), 422, "Validation", /more than the model's maximum of 128/)
    expectError(
      await post(tiny, "/embed", { inputs: "a", truncation_direction: "up" }),
      422,
      "Validation",
      /"truncation_direction" must be "Left" or "Right"/
    )
  })

  it("more inputs than the client batch limit (default 2048) are refused with 422 Validation", async () => {
    const reply = await post(tiny, "/embed", { inputs: Array.from({ length: 2049 }, () => "a") })
    expectError(reply, 422, "Validation", /has 2049 inputs, more than the limit of 2048/)
  })

  it("a request of 2048 inputs is answered in full, though the queue holds 64", async () => {
    const inputs = Array.from({ length: 2048 }, (_, i) => `input number ${i}`)
    const [reply, single] = await Promise.all([post(tiny, "/embed", { inputs }), post(tiny, "/embed", { inputs: "x" })])
    expect(reply.status).toBe(200)
    expect(reply.json).toHaveLength(2048)
    expect(single.status).toBe(200)
    const some = await embedOn(tiny, { inputs: [inputs[0]!, inputs[2047]!] })
    close(reply.json[0], some[0]!)
    close(reply.json[2047], some[1]!)
  })
})

describe("prompts", () => {
  it("the default prompt name applies when a request names none; prompt_name picks another", async () => {
    const [queryHello] = await embedOn(tiny, { inputs: "query: hello" })
    const [passageHello] = await embedOn(tiny, { inputs: "passage: hello" })
    expect(await embedOn(prompted, { inputs: "hello" }, auth)).toEqual([queryHello])
    expect(await embedOn(prompted, { inputs: "hello", prompt_name: "query" }, auth)).toEqual([queryHello])
    expect(await embedOn(prompted, { inputs: "hello", prompt_name: "passage" }, auth)).toEqual([passageHello])
    expectError(
      await post(prompted, "/embed", { inputs: "hello", prompt_name: "title" }, auth),
      422,
      "Validation",
      /"prompt_name" "title" is not one of the model's prompts: "query", "passage"/
    )
    expectError(await post(tiny, "/embed", { inputs: "a", prompt_name: "query" }), 422, "Validation", /no prompts/)
  })

  it("/tokenize tokenizes the prompt and the text together; offsets point into both", async () => {
    const [tokens] = await tokenize(prompted, { inputs: "hello", add_special_tokens: false }, auth)
    expect(tokens!.map((t) => t.text).join(" ")).toBe("query : hello")
    expect(tokens!.at(-1)).toMatchObject({ text: "hello", start: 7, stop: 12 })
  })

  it("--default-prompt-name must name one of the model's prompts: start-up fails otherwise", async () => {
    await expect(start({ model: promptDir, defaultPromptName: "title" })).rejects.toThrow(
      /--default-prompt-name is set to "title", which is not one of the model's prompts/
    )
  })
})

describe("POST /tokenize and /decode", () => {
  it("gives TEI's SimpleToken for every token: id, text, special, start and stop (UTF-8 byte offsets)", async () => {
    const text = "Héllo, wörld"
    const [tokens] = await tokenize(tiny, { inputs: text })
    for (const t of tokens!) {
      expect(Object.keys(t)).toEqual(["id", "text", "special", "start", "stop"])
      expect(Number.isInteger(t.id) && t.id >= 0).toBe(true)
      if (t.special) {
        expect(t.start).toBeNull()
        expect(t.stop).toBeNull()
      } else {
        expect(Buffer.from(text).subarray(t.start!, t.stop!).toString()).toBe(t.text)
      }
    }
    expect(tokens!.map((t) => t.special)).toEqual([true, false, false, false, true])
    expect(tokens!.filter((t) => !t.special).map((t) => t.text)).toEqual(["Héllo", ",", "wörld"])
    const plain = await tokenize(tiny, { inputs: [text, "a"], add_special_tokens: false })
    expect(plain).toHaveLength(2)
    expect(plain[0]).toEqual(tokens!.slice(1, -1))
    expectError(await post(tiny, "/tokenize", { inputs: "" }), 400, "Empty")
    expectError(await post(tiny, "/tokenize", { inputs: [] }), 400, "Empty")
    expectError(await post(tiny, "/tokenize", { inputs: 5 }), 422, "Validation")
  })

  it("decodes ids back to text, with or without the special tokens", async () => {
    const [tokens] = await tokenize(tiny, { inputs: "Hello, world" })
    const ids = tokens!.map((t) => t.id)
    const single = await post(tiny, "/decode", { ids })
    expect(single.status).toBe(200)
    expect(single.json).toEqual(["hello, world"])
    const batch = await post(tiny, "/decode", { ids: [ids, ids.slice(1, 2)], skip_special_tokens: false })
    expect(batch.json).toEqual([`${tokens![0]!.text} hello, world ${tokens!.at(-1)!.text}`, "hello"])
    expectError(await post(tiny, "/decode", { ids: [] }), 400, "Empty", /`ids` cannot be empty/)
    expectError(await post(tiny, "/decode", { ids: [10_000_000] }), 422, "Tokenizer", /not in the vocabulary/)
    expectError(await post(tiny, "/decode", { ids: ["a"] }), 422, "Validation")
  })
})

describe("lone UTF-16 surrogates", () => {
  it("are refused 400 Validation naming the input on every TEI text route (as TEI's JSON parser)", async () => {
    const lone = /holds a lone UTF-16 surrogate \(\\ud800 at character 1\)/
    for (const path of ["/embed", "/", "/invocations", "/embed_all", "/tokenize"]) {
      const one = await post(tiny, path, { inputs: "a\ud800b" })
      expectError(one, 400, "Validation", lone)
      expect(one.json.error).toMatch(/^invalid request: "inputs" holds/)
      const batch = await post(tiny, path, { inputs: ["ok", "a\ud800b"] })
      expectError(batch, 400, "Validation", lone)
      expect(batch.json.error).toMatch(/^invalid request: "inputs\[1\]" holds/)
    }
    expectError(
      await post(tiny, "/similarity", { inputs: { source_sentence: "a", sentences: ["b", "\udc00"] } }),
      400,
      "Validation",
      /"inputs.sentences\[1\]" holds a lone UTF-16 surrogate \(\\udc00 at character 0\)/
    )
    expect((await post(tiny, "/embed", { inputs: "smile \ud83d\ude00" })).status).toBe(200)
  })
})

describe("POST /embed_all", () => {
  it("one vector per token per input; their mean, normalised, is the /embed vector", async () => {
    const texts = ["hello world", "the quick brown fox jumps"]
    const reply = await post(tiny, "/embed_all", { inputs: texts })
    expect(reply.status).toBe(200)
    const states = reply.json as Array<Array<Array<number>>>
    const tokens = await tokenize(tiny, { inputs: texts })
    const pooled = await embedOn(tiny, { inputs: texts })
    expect(states).toHaveLength(2)
    for (let i = 0; i < texts.length; i++) {
      expect(states[i]).toHaveLength(tokens[i]!.length)
      for (const row of states[i]!) expect(row).toHaveLength(32)
      const mean = states[i]![0]!.map((_, d) => states[i]!.reduce((a, row) => a + row[d]!, 0) / states[i]!.length)
      close(unit(mean), pooled[i]!, 1e-4)
    }
    const single = await post(tiny, "/embed_all", { inputs: "hello world" })
    expect(single.json).toHaveLength(1)
  })

  it("a model without token states answers 424 Backend", async () => {
    expectError(await post(echo, "/embed_all", { inputs: "hello" }), 424, "Backend", /gives no token states/)
  })
})

describe("POST /similarity, and the routes of other model types", () => {
  it("gives the cosine similarity of the source sentence with each sentence", async () => {
    const sentences = ["hello world", "the quick brown fox", "hello there"]
    const reply = await post(tiny, "/similarity", { inputs: { source_sentence: "hello world", sentences } })
    expect(reply.status).toBe(200)
    const [source, ...others] = await embedOn(tiny, { inputs: ["hello world", ...sentences] })
    const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)
    close(reply.json, others.map((v) => dot(source!, v)), 1e-4)
    expect(reply.json[0]).toBeCloseTo(1, 4)
    expectError(
      await post(tiny, "/similarity", { inputs: { source_sentence: "a", sentences: [] } }),
      400,
      "Empty",
      /`inputs.sentences` cannot be empty/
    )
    expectError(
      await post(tiny, "/similarity", { inputs: { source_sentence: "a", sentences: ["b", ""] } }),
      400,
      "Empty",
      /`inputs.sentences\[1\]` cannot be empty/
    )
    expectError(
      await post(tiny, "/similarity", { inputs: { source_sentence: "", sentences: ["b"] } }),
      400,
      "Empty",
      /`inputs.source_sentence` cannot be empty/
    )
    expectError(await post(tiny, "/similarity", { inputs: "a" }), 422, "Validation")
  })

  it("an embedding model answers /predict, /rerank and /embed_sparse with 424 Backend, as TEI", async () => {
    expectError(await post(tiny, "/predict", { inputs: "a" }), 424, "Backend", /not a classifier model/)
    expectError(await post(tiny, "/rerank", { query: "a", texts: ["b"] }), 424, "Backend", /not a re-ranker model/)
    expectError(await post(tiny, "/embed_sparse", { inputs: "a" }), 424, "Backend", /SPLADE/)
  })
})

describe("OpenAI routes", () => {
  it("/v1/models lists the served model; /v1/models/{id} gives it or 404 model_not_found", async () => {
    const list = await get(prompted, "/v1/models", auth.headers)
    expect(list.status).toBe(200)
    expect(list.json).toMatchObject({
      object: "list",
      data: [{ id: "my-embedder", object: "model", owned_by: "adabatch" }]
    })
    expect(Number.isInteger(list.json.data[0].created)).toBe(true)
    const one = await get(prompted, "/v1/models/my-embedder", auth.headers)
    expect(one.json).toEqual(list.json.data[0])
    const tinyOne = await get(tiny, `/v1/models/${encodeURIComponent("adabatch/tiny-random")}`)
    expect(tinyOne.json.id).toBe("adabatch/tiny-random")
    const missing = await get(prompted, "/v1/models/text-embedding-3-small", auth.headers)
    expect(missing.status).toBe(404)
    expect(missing.json.error).toMatchObject({ code: "model_not_found", type: "invalid_request_error", param: "model" })
    expect((await get(prompted, "/v1/models")).status).toBe(401)
  })

  it("any requested model and user are served by the loaded model, answered under the served name", async () => {
    const body = { input: "hello", model: "text-embedding-3-small", user: "someone" }
    const reply = await post(prompted, "/v1/embeddings", body, auth)
    expect(reply.status).toBe(200)
    expect(reply.json.model).toBe("my-embedder")
    const without = await post(prompted, "/v1/embeddings", { input: "hello" }, auth)
    expect(without.json.data[0].embedding).toEqual(reply.json.data[0].embedding)
    expect((await post(tiny, "/v1/embeddings", { input: "a" })).json.model).toBe("adabatch/tiny-random")
  })
})
