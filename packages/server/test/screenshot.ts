/**
 * Takes the README's dashboard screenshot (`pnpm dashboard:screenshot [model] [out.png]`): starts
 * the server on 127.0.0.1 (the `tiny` model by default, two workers, a small queue), drives a
 * minute of changing load at it (light, heavy, an overload burst that draws 429s, light again),
 * then loads `/dashboard` in headless Chromium and saves the page (default `docs/dashboard.png`).
 */
import { chromiumPath, launch, watchedPage } from "./browser.js"
import { start } from "./helpers.js"
import * as Load from "./load.js"

const model = process.argv[2] ?? "tiny"
const out = process.argv[3] ?? "docs/dashboard.png"

const phases: ReadonlyArray<{ readonly seconds: number; readonly load: Load.LoadOptions }> = [
  { seconds: 15, load: { concurrency: 2, maxInputs: 4, pauseMs: 40 } },
  { seconds: 20, load: { concurrency: 12, maxInputs: 16 } },
  { seconds: 10, load: { concurrency: 48, maxInputs: 24 } },
  { seconds: 15, load: { concurrency: 3, maxInputs: 8, pauseMs: 20 } }
]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const main = async () => {
  const executable = chromiumPath()
  if (executable === undefined) throw new Error("no Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH")
  const server = await start({ model, workers: 2, queueCapacity: 96, maxClientBatch: 32 })
  console.log(`server on ${server.url} (model ${model})`)
  try {
    for (const phase of phases) {
      const load = Load.start(server.url, phase.load)
      await sleep(phase.seconds * 1000)
      await load.stop()
      console.log(`${phase.seconds} s at concurrency ${phase.load.concurrency}:`, Object.fromEntries(load.statuses()))
    }
    const browser = await launch(executable)
    try {
      const { errors, outside, page } = await watchedPage(browser, server.url)
      await page.setViewport({ width: 1440, height: 900, deviceScaleFactor: 1 })
      await page.goto(`${server.url}/dashboard`, { waitUntil: "load" })
      await page.waitForFunction(() => ((globalThis as any).adabatchDashboard?.polls ?? 0) >= 2, { timeout: 20_000 })
      await sleep(500)
      await page.screenshot({ path: out, fullPage: true })
      if (errors.length > 0 || outside.length > 0) {
        throw new Error(`page problems: ${[...errors, ...outside].join("; ")}`)
      }
      console.log(`saved ${out}`)
    } finally {
      await browser.close()
    }
  } finally {
    await server.close()
  }
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
