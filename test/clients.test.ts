/**
 * The clients embedding users already have, against a real server with default settings (the tiny
 * ONNX model for speed): LangChain's `OpenAIEmbeddings`, Hugging Face's `InferenceClient` on the
 * root URL (as for a TEI Inference Endpoint), the official `openai` client (float and base64) and
 * the AI SDK's `embedMany` through `@ai-sdk/openai-compatible`.
 *
 * Every client is given a `fetch` that refuses anything but the test server, so no test traffic
 * can leave the machine (and a client that tried would fail the test).
 */
import { makeServer, type Server } from "@adabatch/server"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { InferenceClient } from "@huggingface/inference"
import { OpenAIEmbeddings } from "@langchain/openai"
import { embedMany } from "ai"
import OpenAI from "openai"

process.env["LANGSMITH_TRACING"] = "false"
process.env["LANGCHAIN_TRACING_V2"] = "false"

let server: Server.ServerHandle
/** Requests the clients sent, by path. */
const seen: Array<string> = []

/** `fetch` restricted to the test server. */
const loopbackFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  if (server === undefined || url.origin !== new URL(server.url).origin) {
    return Promise.reject(new Error(`refused a request outside the test server: ${url.href}`))
  }
  seen.push(`${(input instanceof Request ? input.method : init?.method) ?? "GET"} ${url.pathname}`)
  return fetch(input, init)
}

const documents = Array.from({ length: 1000 }, (_, i) => `Document ${i}: notes on topic ${i % 37}, part ${i % 11}.`)

const f32 = (v: ReadonlyArray<number>) => v.map((x) => Math.fround(x))

const close = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5)
}

/** The vectors of `texts` from `/embed`, for comparison. */
const reference = async (texts: ReadonlyArray<string>): Promise<Array<Array<number>>> => {
  const reply = await fetch(`${server.url}/embed`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: texts })
  })
  expect(reply.status).toBe(200)
  return ((await reply.json()) as Array<Array<number>>).map(f32)
}

beforeAll(async () => {
  server = await makeServer({ host: "127.0.0.1", port: 0, model: "tiny" }, { logReady: false })
})

afterAll(() => server?.close())

describe("clients with default settings", () => {
  it("LangChain OpenAIEmbeddings: embedDocuments of 1,000 documents, embedQuery, dimensions", async () => {
    seen.length = 0
    const embeddings = new OpenAIEmbeddings({
      model: "text-embedding-3-small",
      apiKey: "unused",
      maxRetries: 0,
      configuration: { baseURL: `${server.url}/v1`, fetch: loopbackFetch }
    })
    const vectors = await embeddings.embedDocuments(documents)
    expect(vectors).toHaveLength(1000)
    for (const v of vectors) expect(v).toHaveLength(32)
    const expected = await reference([documents[0]!, documents[512]!, documents[999]!])
    close(vectors[0]!, expected[0]!)
    close(vectors[512]!, expected[1]!)
    close(vectors[999]!, expected[2]!)
    // LangChain sends 512 documents per request: more than one request, all answered
    expect(seen.filter((s) => s === "POST /v1/embeddings").length).toBeGreaterThanOrEqual(2)
    const query = await embeddings.embedQuery(documents[3]!)
    close(query, (await reference([documents[3]!]))[0]!)
    const short = new OpenAIEmbeddings({
      model: "text-embedding-3-small",
      apiKey: "unused",
      maxRetries: 0,
      dimensions: 8,
      configuration: { baseURL: `${server.url}/v1`, fetch: loopbackFetch }
    })
    expect(await short.embedQuery("hello")).toHaveLength(8)
  })

  it("Hugging Face InferenceClient with the root URL as endpointUrl: featureExtraction", async () => {
    seen.length = 0
    const client = new InferenceClient(undefined, { endpointUrl: server.url, fetch: loopbackFetch })
    const one = await client.featureExtraction({ inputs: "hello world" })
    const [expected] = await reference(["hello world"])
    close((one as Array<Array<number>>)[0] ?? (one as Array<number>), expected!)
    const many = await client.featureExtraction({ inputs: ["hello world", "the quick brown fox"] })
    expect(many).toHaveLength(2)
    close((many as Array<Array<number>>)[1]!, (await reference(["the quick brown fox"]))[0]!)
    expect(seen.every((s) => s === "POST /")).toBe(true)
  })

  it("the openai client: float and base64", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0, fetch: loopbackFetch })
    const texts = ["hello world", "the quick brown fox"]
    const expected = await reference(texts)
    const float = await client.embeddings.create({ model: "any", input: texts, encoding_format: "float" })
    float.data.forEach((d, i) => close(d.embedding, expected[i]!))
    expect(float.model).toBe("adabatch/tiny-random")
    const base64 = await client.embeddings.create({ model: "any", input: texts, encoding_format: "base64" })
    const decoded = base64.data.map((d) => {
      const bytes = Buffer.from(d.embedding as unknown as string, "base64")
      return Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(4 * k))
    })
    decoded.forEach((v, i) => close(v, expected[i]!))
    const byDefault = await client.embeddings.create({ model: "any", input: texts })
    byDefault.data.forEach((d, i) => close(d.embedding, expected[i]!))
    const models = await client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(["adabatch/tiny-random"])
  })

  it("the AI SDK: embedMany through @ai-sdk/openai-compatible", async () => {
    const provider = createOpenAICompatible({ name: "adabatch", baseURL: `${server.url}/v1`, fetch: loopbackFetch })
    const values = documents.slice(0, 300)
    const { embeddings, usage } = await embedMany({ model: provider.embeddingModel("any"), values, maxRetries: 0 })
    expect(embeddings).toHaveLength(300)
    const expected = await reference([values[0]!, values[299]!])
    close(embeddings[0]!, expected[0]!)
    close(embeddings[299]!, expected[1]!)
    expect(usage.tokens).toBeGreaterThan(0)
  })
})
