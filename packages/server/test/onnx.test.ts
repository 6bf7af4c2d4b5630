/**
 * The server on a real ONNX model (the built-in `tiny` model, inference in worker threads).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import OpenAI from "openai"
import { embed, get, type Handle, post, start } from "./helpers.js"

let server: Handle
const texts = ["the quick brown fox", "jumps over the lazy dog", "a third, somewhat longer sentence for the model"]

beforeAll(async () => {
  server = await start({ model: "tiny" })
})

afterAll(() => server.close())

const f32 = (v: ReadonlyArray<number>) => v.map((x) => Math.fround(x))

describe("tiny ONNX model", () => {
  it("reports the model and answers the probes through a worker", async () => {
    const info = await get(server, "/info")
    expect(info.json).toMatchObject({ model_id: "adabatch/tiny-random", model_kind: "onnx", dimension: 32 })
    expect(info.json.model_path).toMatch(/tiny/)
    expect((await get(server, "/health")).json).toEqual({ status: "ok" })
    expect((await get(server, "/ready")).status).toBe(200)
  })

  it("gives the same vectors on /embed and through the openai client (float and base64)", async () => {
    const reply = await embed(server, texts)
    expect(reply.status).toBe(200)
    const reference = (reply.json as Array<Array<number>>).map(f32)
    expect(reference.map((v) => v.length)).toEqual([32, 32, 32])
    for (const v of reference) expect(Math.hypot(...v)).toBeCloseTo(1, 5)
    expect(Number(reply.headers.get("x-inference-time"))).toBeGreaterThanOrEqual(0)
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 })
    const float = await client.embeddings.create({ model: "tiny", input: texts, encoding_format: "float" })
    const base64 = await client.embeddings.create({ model: "tiny", input: texts })
    // batch composition may differ between calls; padded and unpadded rows agree to ~1e-7
    for (const result of [float, base64]) {
      result.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(x).toBeCloseTo(reference[i]![j]!, 5)))
    }
  })

  it("embeds concurrent requests independently of how they are batched", async () => {
    const single = await Promise.all(texts.map((t) => embed(server, t)))
    const together = await Promise.all(Array.from({ length: 24 }, (_, i) => embed(server, texts[i % 3]!)))
    together.forEach((reply, i) => {
      expect(reply.status).toBe(200)
      const expected = (single[i % 3]!.json as Array<Array<number>>)[0]!
      ;(reply.json as Array<Array<number>>)[0]!.forEach((x, j) => expect(x).toBeCloseTo(expected[j]!, 5))
    })
  })

  it("422 for an input over the model's 128 tokens unless truncated", async () => {
    const long = "word ".repeat(300)
    const refused = await embed(server, long)
    expect(refused.status).toBe(422)
    expect(refused.json.error).toMatch(/more than the model's maximum of 128; send truncate: true/)
    const truncated = await post(server, "/embed", { inputs: long, truncate: true })
    expect(truncated.status).toBe(200)
    expect(truncated.headers.get("x-compute-tokens")).toBe("128")
  })
})
