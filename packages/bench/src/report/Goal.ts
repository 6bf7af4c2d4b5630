/**
 * Whether a headline figure meets its goal: judged on the median of its spread over the repeats.
 *
 * @since 0.1.0
 */
import type * as Stats from "@adabatch/testkit/Stats"

/**
 * `true` when the median is at least `goal`; `undefined` when there is no finite median.
 *
 * @since 0.1.0
 * @category predicates
 */
export const atLeast = (value: Stats.Spread, goal: number): boolean | undefined =>
  Number.isFinite(value.median) ? value.median >= goal : undefined

/**
 * `true` when the median is at most `goal`; `undefined` when there is no finite median.
 *
 * @since 0.1.0
 * @category predicates
 */
export const atMost = (value: Stats.Spread, goal: number): boolean | undefined =>
  Number.isFinite(value.median) ? value.median <= goal : undefined
