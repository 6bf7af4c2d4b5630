/**
 * The reliability runner: runs the suite (one file at a time) and writes `docs/reliability.md` with
 * the measured figures.
 *
 *   node --import tsx test/reliability/run.ts            # short version (as in `pnpm test`)
 *   node --import tsx test/reliability/run.ts --long     # overload held 30 s per mode, 10-minute soak
 *
 * Options: `--out <file>` (default `docs/reliability.md`), `--no-docs` (run only),
 * `--soak-ms <ms>` (shorter soak for a trial). Exits with vitest's exit code, after writing the
 * report (a failing requirement is listed in it).
 */
import * as ChildProcess from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { render, type TestResult } from "./Report.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}

const unknown = args.filter((a, i) =>
  !["--long", "--no-docs", "--out", "--soak-ms"].includes(a) && !["--out", "--soak-ms"].includes(args[i - 1] ?? "")
)
if (unknown.length > 0 || flag("--help")) {
  process.stderr.write(
    "usage: node --import tsx test/reliability/run.ts [--long] [--out docs/reliability.md] [--no-docs] " +
      "[--soak-ms <ms>]\n"
  )
  process.exit(unknown.length > 0 ? 2 : 0)
}

const long = flag("--long")
const out = resolve(root, option("--out") ?? "docs/reliability.md")
const results = mkdtempSync(join(Os.tmpdir(), "adabatch-reliability-results-"))
const vitestJson = join(results, "vitest.json")
const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")
const soakMs = option("--soak-ms")

const startedAt = new Date()
const loadAverage = Os.loadavg()
const started = performance.now()
const child = ChildProcess.spawnSync(
  process.execPath,
  [
    vitest,
    "run",
    "--config",
    "test/reliability/vitest.config.ts",
    "--reporter=default",
    "--reporter=./test/SummaryReporter.ts",
    "--reporter=json",
    `--outputFile.json=${vitestJson}`
  ],
  {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      ADABATCH_RELIABILITY_RESULTS: results,
      ADABATCH_RELIABILITY_LONG: long ? "1" : "0",
      ADABATCH_RELIABILITY_STRICT: "1",
      ...(soakMs === undefined ? {} : { ADABATCH_RELIABILITY_SOAK_MS: soakMs })
    }
  }
)
const durationMs = performance.now() - started

const figures: Record<string, unknown> = {}
for (const file of readdirSync(results)) {
  if (!file.endsWith(".json") || file === "vitest.json") continue
  const data = JSON.parse(readFileSync(join(results, file), "utf8")) as { name: string }
  figures[data.name] = data
}

const tests: Array<TestResult> = []
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, "utf8")) as {
    testResults: Array<{
      name: string
      assertionResults: Array<{ fullName: string; status: string; failureMessages: Array<string> }>
    }>
  }
  for (const file of report.testResults) {
    for (const t of file.assertionResults) {
      tests.push({
        file: relative(root, file.name),
        name: t.fullName,
        status: t.status,
        message: t.failureMessages[0]
      })
    }
  }
}

if (!flag("--no-docs")) {
  const cpus = Os.cpus()
  const text = render({
    long,
    startedAt,
    durationMs,
    command: long ? "pnpm reliability:docs" : "pnpm reliability",
    machine: {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? "unknown CPU",
      memoryGiB: Os.totalmem() / 2 ** 30,
      loadAverage
    },
    figures,
    tests
  })
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, text)
  process.stdout.write(`\nwrote ${relative(root, out)}\n`)
}
rmSync(results, { recursive: true, force: true })
process.exit(child.status ?? 1)
