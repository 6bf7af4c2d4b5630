/**
 * Reading a request body from a Node stream: the size limit before and after decoding, the
 * content codings, the body timeout, and the budget of bytes in flight.
 */
import { Body, InflightBytes } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { PassThrough, Readable } from "node:stream"
import * as Zlib from "node:zlib"

const from = (...chunks: ReadonlyArray<Buffer>) => Readable.from(chunks, { objectMode: false })

const split = (bytes: Buffer, size: number): Array<Buffer> =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))

const read = (
  source: Readable,
  options: Partial<Body.ReadOptions> & { readonly budget?: number } = {}
): Promise<Exit.Exit<Uint8Array, Body.BodyError>> => {
  const budget = new InflightBytes.InflightBytes(options.budget ?? 1 << 30)
  return Effect.runPromiseExit(Body.read(source, {
    limit: 1024 * 1024,
    timeoutMs: 5_000,
    codings: [],
    reservation: budget.reserve(0)!,
    ...options
  }))
}

const reason = (exit: Exit.Exit<Uint8Array, Body.BodyError>): string | undefined =>
  Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail"
    ? (exit.cause.reasons[0].error as Body.BodyError).reason
    : undefined

const bytesOf = (exit: Exit.Exit<Uint8Array, Body.BodyError>): Buffer =>
  Exit.isSuccess(exit) ? Buffer.from(exit.value) : Buffer.from(`failed: ${reason(exit)}`)

describe("Body", () => {
  it("parses Content-Encoding into the codings to undo, last applied first", () => {
    expect(Body.codings(undefined)).toEqual({ codings: [] })
    expect(Body.codings("identity")).toEqual({ codings: [] })
    expect(Body.codings("GZIP")).toEqual({ codings: ["gzip"] })
    expect(Body.codings("x-gzip")).toEqual({ codings: ["gzip"] })
    expect(Body.codings("gzip, br")).toEqual({ codings: ["br", "gzip"] })
    expect(Body.codings("deflate,identity")).toEqual({ codings: ["deflate"] })
    expect(Body.codings("gzip, zstd")).toEqual({ unsupported: "zstd" })
    expect(Body.codings("compress")).toEqual({ unsupported: "compress" })
    expect("unsupported" in Body.codings("gzip, gzip, gzip, gzip, gzip")).toBe(true)
  })

  it("gives the bytes as sent, in one chunk or many, with or without the length known up front", async () => {
    const body = Buffer.from("x".repeat(100_000))
    expect(bytesOf(await read(from(body)))).toEqual(body)
    expect(bytesOf(await read(from(...split(body, 7_000))))).toEqual(body)
    expect(bytesOf(await read(from(...split(body, 7_000)), { length: body.length }))).toEqual(body)
    expect(bytesOf(await read(from(body), { length: body.length }))).toEqual(body)
  })

  it("decodes gzip, deflate, br and stacked codings", async () => {
    const body = Buffer.from(JSON.stringify({ inputs: ["a", "b"] }).repeat(200))
    expect(bytesOf(await read(from(...split(Zlib.gzipSync(body), 50)), { codings: ["gzip"] }))).toEqual(body)
    expect(bytesOf(await read(from(Zlib.deflateSync(body)), { codings: ["deflate"] }))).toEqual(body)
    expect(bytesOf(await read(from(Zlib.brotliCompressSync(body)), { codings: ["br"] }))).toEqual(body)
    const stacked = Zlib.brotliCompressSync(Zlib.gzipSync(body))
    expect(bytesOf(await read(from(stacked), { codings: ["br", "gzip"] }))).toEqual(body)
  })

  it("stops at the limit: bytes sent, and bytes decoded (a zip bomb costs the limit, not its size)", async () => {
    expect(reason(await read(from(Buffer.alloc(2_000)), { limit: 1_000 }))).toBe("TooLarge")
    // 64 gzip members of 1 MiB of zeros: 64 MiB once decoded
    const member = Zlib.gzipSync(Buffer.alloc(1 << 20))
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member))
    const budget = new InflightBytes.InflightBytes(1 << 30)
    const reservation = budget.reserve(0)!
    const exit = await Effect.runPromiseExit(
      Body.read(from(bomb), { limit: 1 << 20, timeoutMs: 5_000, codings: ["gzip"], reservation })
    )
    expect(reason(exit)).toBe("DecodedTooLarge")
    expect(budget.peak).toBeLessThanOrEqual(1 << 20)
  })

  it("fails on data that is not valid for its coding", async () => {
    const exit = await read(from(Buffer.from("{\"inputs\": \"a\"}")), { codings: ["gzip"] })
    expect(reason(exit)).toBe("BadEncoding")
  })

  it("fails a body that does not arrive within the body timeout", async () => {
    const stalled = new PassThrough()
    stalled.write("{\"inputs\":")
    expect(reason(await read(stalled, { timeoutMs: 50 }))).toBe("Timeout")
  })

  it("grows the request's reservation as bytes arrive and fails once the budget is spent", async () => {
    const budget = new InflightBytes.InflightBytes(10_000)
    const other = budget.reserve(6_000)!
    const reservation = budget.reserve(0)!
    const exit = await Effect.runPromiseExit(
      Body.read(from(...split(Buffer.alloc(5_000, 32), 1_000)), {
        limit: 1 << 20,
        timeoutMs: 5_000,
        codings: [],
        reservation
      })
    )
    expect(reason(exit)).toBe("OverBudget")
    expect(reservation.held).toBeLessThanOrEqual(4_000)
    other.release()
    reservation.release()
    expect(budget.used).toBe(0)
  })

  it("InflightBytes refuses what does not fit, and a released reservation gives its bytes back once", () => {
    const budget = new InflightBytes.InflightBytes(100)
    const a = budget.reserve(60)!
    expect(budget.reserve(50)).toBeUndefined()
    const b = budget.reserve(40)!
    expect(budget.used).toBe(100)
    expect(b.grow(41)).toBe(false)
    a.release()
    a.release()
    expect(budget.used).toBe(40)
    expect(b.grow(90)).toBe(true)
    expect(b.held).toBe(90)
    expect(budget.peak).toBe(100)
    b.release()
    expect(budget.used).toBe(0)
  })

  it("discard reads the rest of a body without holding it", async () => {
    const source = from(...split(Buffer.alloc(100_000), 1_000))
    await Effect.runPromise(Body.discard(source, 5_000))
    expect(source.readableEnded).toBe(true)
  })
})
