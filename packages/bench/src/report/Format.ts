/**
 * Number formatting shared by the report's tables and sentences.
 *
 * @since 0.1.0
 */
import type * as Stats from "@adabatch/testkit/Stats"

/**
 * Formats a number for a table: thousands separators above 1,000, fewer decimals as it grows.
 *
 * @since 0.1.0
 * @category formatting
 */
export const num = (x: number): string => {
  if (!Number.isFinite(x)) return "n/a"
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toLocaleString("en-US")
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toFixed(3)
}

/**
 * `median (min - max)` of a spread, with a unit.
 *
 * @since 0.1.0
 * @category formatting
 */
export const spread = (s: Stats.Spread, unit = ""): string =>
  s.values.length <= 1 || s.min === s.max
    ? `${num(s.median)}${unit}`
    : `${num(s.median)}${unit} (${num(s.min)} - ${num(s.max)})`

/**
 * A share as a whole percentage, e.g. `0.42` -> `42 %`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const pct = (x: number): string => `${Math.round(x * 100)} %`
