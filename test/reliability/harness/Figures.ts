/**
 * Measured figures of one test file, written as `<results dir>/<name>.json` for the report when
 * `ADABATCH_RELIABILITY_RESULTS` is set. Tests call `figures.set(...)` as they measure, and
 * `figures.write()` once at the end (also when a test failed, so the report shows what was seen).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { long, resultsDir } from "./Settings.js"

export class Figures {
  private readonly values: Record<string, unknown> = {}

  constructor(readonly name: string) {}

  set(key: string, value: unknown): void {
    this.values[key] = value
  }

  get(key: string): unknown {
    return this.values[key]
  }

  write(): void {
    if (resultsDir === undefined || resultsDir === "") return
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(
      join(resultsDir, `${this.name}.json`),
      `${JSON.stringify({ name: this.name, long, at: new Date().toISOString(), ...this.values }, null, 2)}\n`
    )
  }
}

/** Bytes to MiB, one decimal. */
export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10

/** Rounds to `digits` decimals. */
export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
