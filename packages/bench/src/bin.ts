#!/usr/bin/env node
/**
 * `pnpm bench [options]`: see `--help`.
 *
 * @since 0.1.0
 */
import { Effect, Exit } from "effect"
import * as Path from "node:path"
import { help, OptionsError, parse } from "./Options.js"
import type { Results } from "./Results.js"
import * as Runner from "./Runner.js"
import * as Summary from "./Summary.js"

const args = process.argv.slice(2)
const fromIndex = args.indexOf("--from")

const printSummary = (results: Results, written: ReadonlyArray<string>) => {
  for (const h of Summary.headlines(results)) {
    const unit = h.unit === "x" ? "x" : h.unit === "ms" ? " ms" : "/s"
    const v = h.value
    const flag = h.met === undefined ? " " : h.met ? "+" : "!"
    console.log(
      `${flag} ${h.label}: ${v.median.toPrecision(4)}${unit} [${v.min.toPrecision(3)} - ${
        v.max.toPrecision(3)
      }] goal ${h.goal}`
    )
  }
  for (const f of results.failures) console.log(`! scenario ${f.scenario} failed: ${f.message}`)
  for (const w of written) console.log(`report: ${Path.relative(process.cwd(), w) || w}`)
}

if (fromIndex >= 0) {
  // re-render a stored run: --from bench-results/<timestamp>/results.json [--docs]
  const file = args[fromIndex + 1]
  if (file === undefined) {
    console.error("--from needs the path of a results.json")
    process.exit(2)
  }
  const results = Runner.readResults(file)
  const docs = args.includes("--docs")
  const dir = Path.dirname(Path.resolve(file))
  Runner.writeAll({ ...results, options: { ...results.options, out: dir, docs } }).then(
    (written) => printSummary(results, written),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
} else {
  let options
  try {
    options = parse(args)
  } catch (e) {
    console.error(e instanceof OptionsError ? e.message : String(e))
    process.exit(2)
  }
  if (options.help) {
    console.log(help)
    process.exit(0)
  }
  Effect.runPromiseExit(Runner.main(options)).then((exit) => {
    if (Exit.isSuccess(exit)) {
      const { results, written } = exit.value
      printSummary(results, written)
      process.exit(results.failures.length > 0 ? 1 : 0)
    } else {
      console.error(exit.cause)
      process.exit(1)
    }
  })
}
