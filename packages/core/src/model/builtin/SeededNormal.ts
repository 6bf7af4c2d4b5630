/**
 * Seeded pseudo-random numbers for the built-in model's weights: a 32-bit string hash to derive
 * one seed per tensor, the xoshiro128** generator, and Box-Muller normal samples written straight
 * into a `Float32Array`.
 *
 * Determinism: the output depends only on the seed. The normal samples go through `Math.log`,
 * `Math.cos` and `Math.sin`, which V8 implements in software (fdlibm ports), so they are
 * bit-identical across CPUs for a given Node version. The model cache stores sha256 checksums of
 * the files it wrote, never of what a generator is expected to write, so a Node upgrade cannot
 * make a cached model invalid.
 *
 * @since 0.1.0
 */

/**
 * FNV-1a hash of a string (UTF-16 code units) mixed with a base seed, as an unsigned 32-bit
 * integer. Used to give every tensor its own independent seed from `(model seed, tensor name)`.
 *
 * @since 0.1.0
 * @category random
 */
export const hashSeed = (seed: number, label: string): number => {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/**
 * A xoshiro128** generator of unsigned 32-bit integers, seeded through splitmix32 so that any
 * 32-bit seed (including 0) gives a well-mixed, non-zero state.
 *
 * @since 0.1.0
 * @category random
 */
export interface Xoshiro128 {
  /** The next unsigned 32-bit integer. */
  readonly nextUint32: () => number
  /** The next float in (0, 1]: never 0, so it is safe under `Math.log`. */
  readonly nextOpenUnit: () => number
}

/**
 * Creates a {@link Xoshiro128} generator from a 32-bit seed.
 *
 * @since 0.1.0
 * @category random
 */
export const xoshiro128 = (seed: number): Xoshiro128 => {
  let sm = seed >>> 0
  const splitmix32 = (): number => {
    sm = (sm + 0x9e3779b9) >>> 0
    let z = sm
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let s0 = splitmix32()
  let s1 = splitmix32()
  let s2 = splitmix32()
  let s3 = splitmix32()
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0
    const t = (s1 << 9) >>> 0
    s2 = (s2 ^ s0) >>> 0
    s3 = (s3 ^ s1) >>> 0
    s1 = (s1 ^ s2) >>> 0
    s0 = (s0 ^ s3) >>> 0
    s2 = (s2 ^ t) >>> 0
    s3 = rotl(s3, 11)
    return result
  }
  return {
    nextUint32,
    nextOpenUnit: () => (nextUint32() + 1) / 4294967296
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0

const TWO_PI = 2 * Math.PI

/**
 * Fills `out` with samples of N(`mean`, `std`²) from the generator, two per Box-Muller step, and
 * returns it.
 *
 * @since 0.1.0
 * @category random
 */
export const fillNormal = (out: Float32Array, rng: Xoshiro128, mean: number, std: number): Float32Array => {
  const n = out.length
  let i = 0
  for (; i + 1 < n; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(rng.nextOpenUnit()))
    const angle = TWO_PI * rng.nextOpenUnit()
    out[i] = mean + radius * Math.cos(angle)
    out[i + 1] = mean + radius * Math.sin(angle)
  }
  if (i < n) {
    const radius = std * Math.sqrt(-2 * Math.log(rng.nextOpenUnit()))
    out[i] = mean + radius * Math.cos(TWO_PI * rng.nextOpenUnit())
  }
  return out
}
