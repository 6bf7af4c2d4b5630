/**
 * A careful validator of the Prometheus text exposition format (0.0.4), used when `promtool` is not
 * installed. It checks the structure promtool checks (names, labels, values, TYPE/HELP placement,
 * one family per name, no duplicate series, histogram and summary consistency) and promtool's lint
 * rules (counters end in `_total`, every family has HELP, no abbreviated units, base units).
 */
import { spawnSync } from "node:child_process"

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$/

interface Sample {
  readonly name: string
  readonly labels: ReadonlyArray<readonly [string, string]>
  readonly value: number
}

const parseLabels = (text: string, line: number, problems: Array<string>): Array<[string, string]> => {
  const labels: Array<[string, string]> = []
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf("=", i)
    if (eq === -1) {
      problems.push(`line ${line}: label without '='`)
      return labels
    }
    const name = text.slice(i, eq).trim()
    if (!LABEL.test(name) || name.startsWith("__")) problems.push(`line ${line}: invalid label name ${name}`)
    if (text[eq + 1] !== "\"") {
      problems.push(`line ${line}: label value of ${name} is not quoted`)
      return labels
    }
    let j = eq + 2
    let value = ""
    while (j < text.length && text[j] !== "\"") {
      if (text[j] === "\\") {
        const next = text[j + 1]
        if (next === "n") value += "\n"
        else if (next === "\\" || next === "\"") value += next
        else problems.push(`line ${line}: invalid escape \\${next} in label ${name}`)
        j += 2
      } else {
        value += text[j]
        j++
      }
    }
    if (j >= text.length) {
      problems.push(`line ${line}: unterminated label value`)
      return labels
    }
    if (labels.some(([n]) => n === name)) problems.push(`line ${line}: duplicate label ${name}`)
    labels.push([name, value])
    i = j + 1
    if (text[i] === ",") i++
    else if (i < text.length) {
      problems.push(`line ${line}: expected ',' between labels`)
      return labels
    }
  }
  return labels
}

const toNumber = (text: string): number =>
  text === "+Inf" || text === "Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text)

/**
 * The problems found in `text` (empty when it is valid and lint-clean).
 */
export const validate = (text: string): Array<string> => {
  const problems: Array<string> = []
  if (text.length > 0 && !text.endsWith("\n")) problems.push("the text does not end with a newline")
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const familyOrder: Array<string> = []
  const samples = new Map<string, Array<Sample>>()
  const seriesSeen = new Set<string>()
  let current: string | undefined
  const lines = text.split("\n")
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!
    const lineNo = n + 1
    if (line === "") continue
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (m === null) continue // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string | undefined]
      if (!NAME.test(name)) problems.push(`line ${lineNo}: invalid metric name ${name}`)
      if (kind === "TYPE") {
        if (types.has(name)) problems.push(`line ${lineNo}: second TYPE line for ${name}`)
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest ?? "")) {
          problems.push(`line ${lineNo}: unknown type ${rest}`)
        }
        if (samples.has(name)) problems.push(`line ${lineNo}: TYPE for ${name} after its samples`)
        types.set(name, rest ?? "")
      } else {
        if (helps.has(name)) problems.push(`line ${lineNo}: second HELP line for ${name}`)
        helps.add(name)
      }
      if (current !== name) {
        if (familyOrder.includes(name) && kind === "TYPE") problems.push(`line ${lineNo}: family ${name} is split`)
        current = name
        if (!familyOrder.includes(name)) familyOrder.push(name)
      }
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line)
    if (m === null) {
      problems.push(`line ${lineNo}: cannot parse sample: ${line}`)
      continue
    }
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string]
    if (!VALUE.test(valueText)) problems.push(`line ${lineNo}: invalid value ${valueText}`)
    const labels = labelText === undefined || labelText === "" ? [] : parseLabels(labelText, lineNo, problems)
    const family = [...types.keys()].find((f) =>
      name === f || ((types.get(f) === "histogram" || types.get(f) === "summary") &&
        (name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`))
    )
    if (family === undefined) {
      problems.push(`line ${lineNo}: sample ${name} has no TYPE line`)
      continue
    }
    if (family !== current) problems.push(`line ${lineNo}: sample of ${family} outside its family block`)
    const key = `${name}{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).sort().join(",")}}`
    if (seriesSeen.has(key)) problems.push(`line ${lineNo}: duplicate series ${key}`)
    seriesSeen.add(key)
    const list = samples.get(family) ?? []
    list.push({ name, labels, value: toNumber(valueText) })
    samples.set(family, list)
  }
  for (const [family, type] of types) {
    // promtool's lint rules
    if (!helps.has(family)) problems.push(`${family}: no help text`)
    if (type === "counter" && !family.endsWith("_total")) problems.push(`${family}: counter should end in _total`)
    if (family !== family.toLowerCase()) problems.push(`${family}: metric names should be snake_case`)
    if (/_(ms|us|ns|sec|secs|min|mins|hr|hrs)(_|$)/.test(family)) {
      problems.push(`${family}: metric names should not contain abbreviated units`)
    }
    if (/_(milliseconds|microseconds|nanoseconds|minutes|hours|days)(_|$)/.test(family)) {
      problems.push(`${family}: use base unit "seconds"`)
    }
    const list = samples.get(family) ?? []
    if (type === "histogram" || type === "summary") {
      const groups = new Map<string, Array<Sample>>()
      for (const s of list) {
        const base = s.labels.filter(([k]) => k !== "le" && k !== "quantile")
        const key = JSON.stringify(base)
        groups.set(key, [...(groups.get(key) ?? []), s])
      }
      for (const [key, group] of groups) {
        const count = group.find((s) => s.name === `${family}_count`)
        const sum = group.find((s) => s.name === `${family}_sum`)
        if (count === undefined || sum === undefined) problems.push(`${family}${key}: missing _sum or _count`)
        if (type === "histogram") {
          const buckets = group.filter((s) => s.name === `${family}_bucket`)
          const les = buckets.map((b) => toNumber(b.labels.find(([k]) => k === "le")?.[1] ?? "NaN"))
          if (les.some((le) => Number.isNaN(le))) problems.push(`${family}${key}: bucket without a numeric le`)
          for (let i = 1; i < buckets.length; i++) {
            if (!(les[i]! > les[i - 1]!)) problems.push(`${family}${key}: le not increasing`)
            if (buckets[i]!.value < buckets[i - 1]!.value) problems.push(`${family}${key}: buckets not cumulative`)
          }
          if (les[les.length - 1] !== Infinity) problems.push(`${family}${key}: no +Inf bucket`)
          else if (count !== undefined && buckets[buckets.length - 1]!.value !== count.value) {
            problems.push(`${family}${key}: +Inf bucket differs from _count`)
          }
        }
      }
    }
  }
  return problems
}

/**
 * `promtool check metrics` on `text`: its problems, or `undefined` when promtool is not installed.
 */
export const promtool = (text: string): Array<string> | undefined => {
  const result = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" })
  if (result.error !== undefined) return undefined
  if (result.status === 0) return []
  return `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim() !== "")
}
