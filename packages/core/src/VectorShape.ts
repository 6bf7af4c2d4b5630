/**
 * The shape of the vectors a call answers: `dimensions` (Matryoshka-style: the first `dimensions`
 * values) and `normalize` (unit length). Decided once, here, from the call's options and whether the
 * model normalises its own output (`ModelInfo.normalize`, done in the model's worker threads):
 *
 * - whole vectors, `normalize` true: the model's unit vectors as they are, or normalised here once
 *   when the model does not normalise (so a vector is never normalised twice);
 * - whole vectors, `normalize` false: the model's vectors as they are (a model that normalises only
 *   gives unit vectors);
 * - cut to `dimensions`: the cut is re-normalised when `normalize` is true (a new vector), or
 *   returned as it is (a view, no copy) when `normalize` is false.
 *
 * `normalize` defaults to the model's own setting: without options, vectors are the model's.
 *
 * @example
 * ```ts
 * import { VectorShape } from "@adabatch/core"
 *
 * // a model that does not normalise: [3, 4, 12] has length 13
 * const raw = [new Float32Array([3, 4, 12])]
 * VectorShape.shape(raw, false, { normalize: true }) // [[3/13, 4/13, 12/13]]
 * VectorShape.shape(raw, false, { dimensions: 2, normalize: true }) // [[0.6, 0.8]]
 * VectorShape.shape(raw, false, { dimensions: 2, normalize: false }) // [[3, 4]]
 * VectorShape.shape(raw, false, {}) // the vectors as given
 * ```
 *
 * @since 0.1.0
 */

/**
 * What a call asks of its vectors (see the module's doc for the rules).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Keep the first `dimensions` values (an integer, 1 to the model's dimension); default: all. */
  readonly dimensions?: number | undefined
  /** Unit-length vectors; default: as the model gives them (`ModelInfo.normalize`). */
  readonly normalize?: boolean | undefined
}

/**
 * Shapes one vector of a call.
 *
 * @since 0.1.0
 * @category models
 */
export type Shaper = (vector: Float32Array) => Float32Array

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
 * @example
 * ```ts
 * import { VectorShape } from "@adabatch/core"
 *
 * VectorShape.normalized(new Float32Array([3, 4, 12]), 2) // [0.6, 0.8]
 * ```
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

const normalizeWhole: Shaper = (v) => normalized(v)

/**
 * Why `options` cannot apply to a model of `dimension` values (`dimensions` not an integer from 1 to
 * `dimension`), or `undefined` when they can.
 *
 * @since 0.1.0
 * @category checks
 */
export const check = (options: Options, dimension: number): string | undefined => {
  const dimensions = options.dimensions
  if (dimensions === undefined) return undefined
  return Number.isSafeInteger(dimensions) && dimensions >= 1 && dimensions <= dimension
    ? undefined
    : `dimensions must be an integer from 1 to the model's ${dimension}, got ${dimensions}`
}

/**
 * The shaping of a call's vectors, or `undefined` when they go out as the model gives them (no work,
 * no copy). `modelNormalizes`: the model's vectors are unit length already (`ModelInfo.normalize`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const shaper = (modelNormalizes: boolean, options: Options): Shaper | undefined => {
  const normalize = options.normalize ?? modelNormalizes
  const dimensions = options.dimensions
  const whole: Shaper | undefined = normalize && !modelNormalizes ? normalizeWhole : undefined
  if (dimensions === undefined) return whole
  return (v) =>
    dimensions >= v.length
      ? whole === undefined ? v : whole(v)
      : normalize
      ? normalized(v, dimensions)
      : v.subarray(0, dimensions)
}

/**
 * The vectors of a call, shaped by `options` (see {@link shaper}).
 *
 * @since 0.1.0
 * @category utils
 */
export const shape = (
  vectors: ReadonlyArray<Float32Array>,
  modelNormalizes: boolean,
  options: Options
): ReadonlyArray<Float32Array> => {
  const f = shaper(modelNormalizes, options)
  return f === undefined ? vectors : vectors.map(f)
}
