/**
 * Fast serialisation of embedding vectors: JSON number arrays (built as one string, ~5x faster
 * than `JSON.stringify(Array.from(v))`), base64 of little-endian float32 bytes (as OpenAI sends),
 * L2 normalisation and Matryoshka-style dimension truncation.
 *
 * Numbers are written with JavaScript's shortest round-trip form of the float32 value widened to
 * a double, so a client that parses them gets exactly the float32 values the model produced
 * (`Math.fround(x) === x`), the same as decoding the base64 form.
 *
 * @since 0.1.0
 */
import { endianness } from "node:os"

/**
 * A vector with a NaN or an infinity cannot be written as JSON.
 *
 * @since 0.1.0
 * @category errors
 */
export class NonFiniteValue extends Error {
  constructor(readonly row: number, readonly column: number) {
    super(`the model produced a non-finite value (row ${row}, dimension ${column})`)
  }
}

/**
 * `[v0,v1,...]`. Throws `NonFiniteValue` on NaN or infinity (`row` is reported in it).
 *
 * @since 0.1.0
 * @category json
 */
export const vectorJson = (v: Float32Array, row = 0): string => {
  const n = v.length
  if (n === 0) return "[]"
  let s = "["
  for (let i = 0; i < n; i++) {
    const x = v[i]!
    if (x !== x || x === Infinity || x === -Infinity) throw new NonFiniteValue(row, i)
    s += i === 0 ? `${x}` : `,${x}`
  }
  return s + "]"
}

/**
 * `[[...],[...]]`: one JSON array per vector.
 *
 * @since 0.1.0
 * @category json
 */
export const matrixJson = (vectors: ReadonlyArray<Float32Array>): string => {
  let s = "["
  for (let r = 0; r < vectors.length; r++) {
    if (r > 0) s += ","
    s += vectorJson(vectors[r]!, r)
  }
  return s + "]"
}

const littleEndian = endianness() === "LE"

/**
 * Base64 of the vector's float32 values in little-endian byte order.
 *
 * @since 0.1.0
 * @category base64
 */
export const vectorBase64 = (v: Float32Array): string => {
  if (littleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")
  const bytes = Buffer.alloc(v.byteLength)
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4)
  return bytes.toString("base64")
}

/**
 * The L2 norm.
 *
 * @since 0.1.0
 * @category vectors
 */
export const norm = (v: Float32Array): number => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!
  return Math.sqrt(sum)
}

/**
 * A unit-length copy of the first `dimensions` values (all of them by default). A zero vector
 * stays zero.
 *
 * @since 0.1.0
 * @category vectors
 */
export const normalized = (v: Float32Array, dimensions = v.length): Float32Array => {
  const out = v.slice(0, dimensions)
  const n = norm(out)
  if (n > 0) {
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / n
  }
  return out
}
