/**
 * The server on a real ONNX model (the built-in `tiny` model, inference in worker threads).
 */
import { Allowance, LayoutChoice } from "@adabatch/core"
import { LayoutView } from "@adabatch/server"
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

  it("says which worker layout it chose (workers and threads auto), from which measured candidates, and why", async () => {
    const info = (await get(server, "/info")).json
    const layout = info.layout
    expect(["calibrated", "cached"]).toContain(layout.source)
    const cores = Allowance.usableCores()
    expect(layout.usable_cores).toBe(cores)
    const measured = layout.candidates.map((c: LayoutChoice.Layout) => LayoutChoice.label(c))
    const skipped = layout.skipped.map((c: LayoutChoice.Layout) => LayoutChoice.label(c))
    expect([...measured, ...skipped].sort()).toEqual(LayoutChoice.candidates(cores).map(LayoutChoice.label).sort())
    const chosen = layout.candidates.find((c: LayoutChoice.Layout) =>
      c.workers === info.workers && c.threads === info.intra_op_threads
    )
    expect(chosen).toMatchObject({ excluded: null })
    expect(chosen.short_items_per_second).toBeGreaterThan(0)
    expect(chosen.long_items_per_second).toBeGreaterThan(0)
    expect(chosen.idle_ms).toBeGreaterThan(0)
    expect(layout.reason).toMatch(new RegExp(`^${info.workers} x ${info.intra_op_threads}: highest throughput`))
    expect(layout.memory_per_worker_mib).toBeGreaterThan(0)
    // the ready line says the same
    const line = LayoutView.summary(server.model)
    expect(line).toContain(`workers ${info.workers}, threads ${info.intra_op_threads} (${layout.source} on ${cores}`)
    expect(line).toContain(layout.reason)
    for (const m of measured) expect(line).toContain(`${m}: short `)
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
