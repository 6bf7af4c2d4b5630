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
          user: field(fc.string())
        }),
        (json) => same(Requests.decodeOpenAI(json), schema(json))
      ),
      { numRuns: 5_000 }
    )
  })

  it("keeps the Schema's error messages for malformed bodies", () => {
    const failure = Requests.decodeTei({ inputs: 3 })
    expect(Result.isFailure(failure) && failure.failure.message).toContain("inputs")
  })
})
