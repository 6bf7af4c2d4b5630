import { Encoding } from "@adabatch/server"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"

const bitsToFloat = (bits: number): number => {
  const view = new DataView(new ArrayBuffer(4))
  view.setUint32(0, bits >>> 0)
  return view.getFloat32(0)
}

describe("Encoding", () => {
  it("writes every finite float32 so that it parses back to exactly the same float32", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const x = bitsToFloat(bits)
        if (!Number.isFinite(x)) return true
        const text = Encoding.floatText(x)
        return Math.fround(JSON.parse(text)) === x && text.length <= 15
      }),
      { numRuns: 200_000 }
    )
  })

  it("writes every float32 of the unit-vector range [1e-4, 1) exactly, both signs (the fast path)", () => {
    const low = 0x38d1b718 // the least float32 above 1e-4
    const one = 0x3f800000
    fc.assert(
      fc.property(fc.integer({ min: low, max: one - 1 }), fc.boolean(), (bits, negative) => {
        const x = bitsToFloat(negative ? (bits | 0x80000000) >>> 0 : bits)
        const text = Encoding.floatText(x)
        return Math.fround(JSON.parse(text)) === x && text.length <= 15 && !/0$/.test(text) &&
          /^-?0\.\d+$/.test(text)
      }),
      { numRuns: 200_000 }
    )
  })

  it("writes the short forms", () => {
    const cases: Array<[number, string]> = [
      [0, "0"],
      [-0, "0"],
      [1, "1"],
      [-0.25, "-0.25"],
      [0.5, "0.5"],
      [100, "100"],
      [123456792, "123456792"],
      [1e9, "1e9"],
      [0.1, "0.100000001"],
      [0.000123, "0.000123000005"],
      [1.5e-7, "1.50000005e-7"],
      [3.4028234663852886e38, "3.40282347e38"],
      [1.401298464324817e-45, "1.40129846e-45"],
      [1.1754943508222875e-38, "1.17549435e-38"]
    ]
    for (const [x, text] of cases) expect(Encoding.floatText(x), String(x)).toBe(text)
  })

  it("writes matrices as JSON and refuses non-finite values", () => {
    const vectors = [new Float32Array([0.5, -1, 2.5e-9]), new Float32Array([3])]
    const text = Buffer.from(Encoding.matrixJson(vectors)).toString("utf8")
    // nine significant digits: the float32 nearest 2.5e-9 is 2.4999999846e-9
    expect(text).toBe("[[0.5,-1,2.49999998e-9],[3]]")
    expect((JSON.parse(text) as Array<Array<number>>).map((row) => row.map(Math.fround))).toEqual(
      vectors.map((v) => Array.from(v))
    )
    expect(() => Encoding.matrixJson([new Float32Array([1]), new Float32Array([0, NaN])])).toThrow(
      "the model produced a non-finite value (row 1, dimension 1)"
    )
    expect(() => Encoding.matrixJson([new Float32Array([Infinity])])).toThrow(Encoding.NonFiniteValue)
  })

  it("grows its scratch buffer for large bodies, and keeps UTF-8 text intact", () => {
    const writer = new Encoding.JsonWriter()
    const big = new Float32Array(10_000).map((_, i) => -1.23456789e-20 * (i + 1))
    writer.raw("{\"a\":").vector(big).raw(",\"ü\":\"é\"}")
    const parsed = JSON.parse(Buffer.from(writer.finish()).toString("utf8"))
    expect(parsed.a.map(Math.fround)).toEqual(Array.from(big))
    expect(parsed["ü"]).toBe("é")
  })

  it("bodies handed out stay intact while later bodies are written, across slabs and failed writers", () => {
    const row = (k: number, n: number) => new Float32Array(n).map((_, i) => Math.fround(((k * 7919 + i) % 1000) / 1001))
    const bodies: Array<{ readonly bytes: Uint8Array; readonly text: string }> = []
    for (let k = 0; k < 200; k++) {
      // sizes from a few bytes to well over a 64 KiB slab, so that bodies share slabs and new slabs start
      // both between bodies and in the middle of one
      const vectors = [row(k, 1 + ((k * 37) % 600)), row(k + 1, k % 50 === 0 ? 9000 : 3)]
      const bytes = Encoding.matrixJson(vectors)
      bodies.push({ bytes, text: Buffer.from(bytes).toString("utf8") })
      if (k % 30 === 0) {
        // a writer that fails half-way hands out nothing, and must not disturb what was handed out
        expect(() => Encoding.matrixJson([row(k, 500), new Float32Array([1, NaN])])).toThrow(Encoding.NonFiniteValue)
      }
    }
    for (const [k, { bytes, text }] of bodies.entries()) {
      expect(Buffer.from(bytes).toString("utf8"), `body ${k}`).toBe(text)
      const parsed = JSON.parse(text) as Array<Array<number>>
      expect(parsed[0]!.map(Math.fround), `body ${k}`).toEqual(Array.from(row(k, 1 + ((k * 37) % 600))))
    }
  })

  it("base64 is the little-endian float32 bytes, also for a view into a larger buffer", () => {
    const backing = new Float32Array([9, 1.5, -2, 0.125, 9])
    const view = backing.subarray(1, 4)
    const bytes = Buffer.from(Encoding.vectorBase64(view), "base64")
    expect(bytes.length).toBe(12)
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([1.5, -2, 0.125])
  })
})
