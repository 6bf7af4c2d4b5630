/**
 * How the text of one setting is read: each reader gives the value, or what is accepted (the
 * `expected` of a `ConfigError`, so an error names the accepted values the same way for a variable
 * and a flag). `effect/cli` finds the text (flag or environment variable); these give it meaning.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { QueueDynamic } from "./ServerConfig.js"

/**
 * Reads the text of one setting: its value, or a description of the accepted values.
 *
 * @since 0.1.0
 * @category models
 */
export type Reader<A> = (text: string) => Result.Result<A, string>

/**
 * An integer from `min` to `max`.
 *
 * @since 0.1.0
 * @category readers
 */
export const int = (min: number, max: number): Reader<number> => {
  const expected = `an integer from ${min} to ${max}`
  return (text) => {
    const trimmed = text.trim()
    if (!/^[+-]?\d+$/.test(trimmed)) return Result.fail(expected)
    const n = Number(trimmed)
    return Number.isSafeInteger(n) && n >= min && n <= max ? Result.succeed(n) : Result.fail(expected)
  }
}

/**
 * An integer from `min` to `max`, or `auto` (`undefined`).
 *
 * @since 0.1.0
 * @category readers
 */
export const optionalInt = (min: number, max: number): Reader<number | undefined> => {
  const base = int(min, max)
  return (text) =>
    text.trim() === "auto"
      ? Result.succeed(undefined)
      : Result.mapError(base(text), (e) => `${e}, or auto`)
}

/**
 * One of `values`, in any case.
 *
 * @since 0.1.0
 * @category readers
 */
export const oneOf = <const A extends string>(values: ReadonlyArray<A>): Reader<A> => (text) => {
  const lower = text.trim().toLowerCase()
  const found = values.find((v) => v === lower)
  return found === undefined ? Result.fail(`one of ${values.join(", ")}`) : Result.succeed(found)
}

/**
 * `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`.
 *
 * @since 0.1.0
 * @category readers
 */
export const boolean: Reader<boolean> = (text) => {
  switch (text.trim().toLowerCase()) {
    case "true":
    case "1":
    case "yes":
    case "on":
      return Result.succeed(true)
    case "false":
    case "0":
    case "no":
    case "off":
      return Result.succeed(false)
    default:
      return Result.fail("true or false (also 1/0, yes/no, on/off)")
  }
}

/**
 * A text that is not blank, trimmed; `what` says what is expected.
 *
 * @since 0.1.0
 * @category readers
 */
export const nonEmpty = (what: string): Reader<string> => (text) =>
  text.trim() === "" ? Result.fail(what) : Result.succeed(text.trim())

const sizeUnits: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

/**
 * A size in bytes from 1 byte to `maxGb` GiB, in binary units: `512kb` is 524288 bytes.
 *
 * @since 0.1.0
 * @category readers
 */
export const sizeUpTo = (maxGb: number): Reader<number> => (text) => {
  const expected = `a size in bytes from 1 byte to ${maxGb}gb, such as 2097152, 512kb or 2mb`
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase())
  if (match === null) return Result.fail(expected)
  const unit = sizeUnits[match[2]!]
  if (unit === undefined) return Result.fail(expected)
  const bytes = Math.floor(Number(match[1]) * unit)
  return bytes >= 1 && bytes <= maxGb * 1024 ** 3 ? Result.succeed(bytes) : Result.fail(expected)
}

/**
 * A size in bytes up to 1 GiB.
 *
 * @since 0.1.0
 * @category readers
 */
export const byteSize: Reader<number> = sizeUpTo(1)

/**
 * A size in bytes up to `maxGb` GiB, or `auto` (`undefined`).
 *
 * @since 0.1.0
 * @category readers
 */
export const optionalSize = (maxGb: number): Reader<number | undefined> => {
  const base = sizeUpTo(maxGb)
  return (text) =>
    text.trim() === "auto" ? Result.succeed(undefined) : Result.mapError(base(text), (e) => `${e}, or auto`)
}

/**
 * `off` (`undefined`), `on` (from the capacity to 4x it, expanded by `finish`), or `<floor>:<ceiling>`.
 *
 * @since 0.1.0
 * @category readers
 */
export const queueDynamic: Reader<QueueDynamic | "on" | undefined> = (text) => {
  const expected = "off, on, or <floor>:<ceiling> with 1 <= floor <= ceiling <= 1000000"
  const trimmed = text.trim().toLowerCase()
  if (["off", "false", "0", "no"].includes(trimmed)) return Result.succeed(undefined)
  if (["on", "true", "1", "yes"].includes(trimmed)) return Result.succeed("on")
  const match = /^(\d+)\s*:\s*(\d+)$/.exec(trimmed)
  if (match === null) return Result.fail(expected)
  const floor = Number(match[1])
  const ceiling = Number(match[2])
  return floor >= 1 && floor <= ceiling && ceiling <= 1_000_000
    ? Result.succeed({ floor, ceiling })
    : Result.fail(expected)
}
