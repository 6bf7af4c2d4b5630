/**
 * The hand-checked fast path of the body decoders gives exactly what the Schemas give.
 */
import { Requests } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"

const field = (valid: fc.Arbitrary<unknown>) => fc.oneof(valid, fc.constant(null), fc.jsonValue({ maxDepth: 1 }))

const inputs = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }))

const body = (shape: Record<string, fc.Arbitrary<unknown>>) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record(shape, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
  )

const same = <A>(fast: Result.Result<A, unknown>, schema: Result.Result<A, unknown>) => {
  expect(Result.isSuccess(fast)).toBe(Result.isSuccess(schema))
  if (Result.isSuccess(fast) && Result.isSuccess(schema)) expect(fast.success).toStrictEqual(schema.success)
}

describe("Requests", () => {
  it("decodeTei gives what the TeiEmbedRequest Schema gives, for well-formed and malformed bodies", () => {
    const schema = Schema.decodeUnknownResult(Requests.TeiEmbedRequest)
    fc.assert(
      fc.property(
        body({ inputs, normalize: field(fc.boolean()), truncate: field(fc.boolean()), extra: fc.jsonValue() }),
        (json) => same(Requests.decodeTei(json), schema(json))
      ),
      { numRuns: 5_000 }
    )
  })

  it("decodeOpenAI gives what the OpenAIEmbeddingRequest Schema gives (text inputs)", () => {
    const schema = Schema.decodeUnknownResult(Requests.OpenAIEmbeddingRequest)
    fc.assert(
      fc.property(
        body({
          input: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 }), fc.constant({})),
          model: field(fc.string()),
          encoding_format: field(fc.constantFrom("float", "base64", "FLOAT")),
          dimensions: field(fc.oneof(fc.integer({ min: -2, max: 2000 }), fc.double())),
          user: field(fc.string()),
          truncate: field(fc.boolean())
        }),
        (json) => same(Requests.decodeOpenAI(json), schema(json))
      ),
      { numRuns: 5_000 }
    )
  })

  it("decodeUtf8 refuses invalid UTF-8 and drops a byte order mark", () => {
    const bytes = (...parts: ReadonlyArray<string | ReadonlyArray<number>>) =>
      Uint8Array.from(parts.flatMap((p) => typeof p === "string" ? [...Buffer.from(p)] : [...p]))
    expect(Requests.decodeUtf8(bytes("{\"inputs\": \"héllo 👋\"}"))).toEqual(
      Result.succeed("{\"inputs\": \"héllo 👋\"}")
    )
    expect(Requests.decodeUtf8(bytes([0xef, 0xbb, 0xbf], "{}"))).toEqual(Result.succeed("{}"))
    for (const bad of [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const result = Requests.decodeUtf8(bytes("\"a", bad, "b\""))
      expect(Result.isFailure(result) && result.failure.message).toMatch(/^invalid UTF-8/)
      expect(Result.isFailure(result) && result.failure.status).toBe(400)
    }
  })

  it("checkInputs refuses a lone UTF-16 surrogate with a 400 naming the input, and keeps surrogate pairs", () => {
    const message = (inputs: string | ReadonlyArray<string>, field = "inputs") => {
      const result = Requests.checkInputs(field, inputs, 32)
      return Result.isFailure(result) ? `${result.failure.status} ${result.failure.message}` : "ok"
    }
    expect(message("\ud800")).toBe(
      "400 invalid request: \"inputs\" holds a lone UTF-16 surrogate (\\ud800 at character 0), which is not a " +
        "character: encode characters outside the Basic Multilingual Plane as a surrogate pair"
    )
    expect(message(["a", "b", "c", "a\ud800b"])).toMatch(/^400 invalid request: "inputs\[3\]" .*\\ud800 at character 1/)
    expect(message(["x\udc00"], "input")).toMatch(/^400 invalid request: "input\[0\]" .*\\udc00 at character 1/)
    expect(message(["\udc00\ud800"])).toMatch(/\\udc00 at character 0/)
    expect(message(["smile \ud83d\ude00", "é"])).toBe("ok")
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => message(s.length === 0 ? "a" : s) === "ok"),
      { numRuns: 500 }
    )
  })

  it("keeps the Schema's error messages for malformed bodies", () => {
    const failure = Requests.decodeTei({ inputs: 3 })
    expect(Result.isFailure(failure) && failure.failure.message).toContain("inputs")
  })
})
