/**
 * The dashboard (`/dashboard`) and the API reference (`/docs`) in a real browser: headless
 * Chromium loads each page from the real server while load runs. Every chart must get data, and
 * neither page may log an error or ask for anything but the server (no CDN: they work offline).
 *
 * Needs Chromium (`apt-get install chromium`; `.ci/run` installs it). Without one the tests are
 * skipped, unless `ADABATCH_REQUIRE_BROWSER=1` (CI), which makes a missing browser a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Browser } from "puppeteer-core"
import { chromiumPath, launch, watchedPage } from "./browser.js"
import { type Handle, start } from "./helpers.js"
import * as Load from "./load.js"

const executable = chromiumPath()
const required = process.env["ADABATCH_REQUIRE_BROWSER"] === "1"

it.runIf(executable === undefined && required)("finds Chromium (ADABATCH_REQUIRE_BROWSER=1)", () => {
  expect.fail("no Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH")
})

describe.skipIf(executable === undefined)("pages in headless Chromium", () => {
  let server: Handle
  let browser: Browser
  let load: Load.Load

  beforeAll(async () => {
    server = await start({ workers: 2 })
    // Light load (a short pause between requests): enough for every chart, not enough to starve a
    // busy machine.
    load = Load.start(server.url, { concurrency: 3, maxInputs: 8, pauseMs: 5 })
    browser = await launch(executable!)
  })

  afterAll(async () => {
    await load?.stop()
    await browser?.close()
    await server?.close()
  })

  it("the dashboard plots every chart from the feed while load runs", async () => {
    const { errors, outside, page } = await watchedPage(browser, server.url)
    await page.goto(`${server.url}/dashboard`, { waitUntil: "load" })
    // Every chart has at least two samples, and every series of it a value in one of them (rates
    // of outcomes that did not happen are 0, not missing).
    const missing = () => {
      const plots = Object.entries((globalThis as any).adabatchDashboard?.plots ?? {}) as Array<[string, any]>
      if (plots.length !== 9) return [`${plots.length} charts`]
      return plots.flatMap(([id, plot]) =>
        plot.data[0].length < 2
          ? [`${id}: ${plot.data[0].length} samples`]
          : plot.data.slice(1).flatMap((series: Array<number | null>, i: number) =>
            series.some((v) => v !== null) ? [] : [`${id}: no value for ${plot.series[i + 1].label}`]
          )
      )
    }
    try {
      await page.waitForFunction(`(${missing.toString()})().length === 0`, { timeout: 25_000, polling: 250 })
    } catch (e) {
      throw new Error(`charts without data: ${(await page.evaluate(missing)).join("; ")} (${String(e)})`)
    }
    const charts = await page.evaluate(() => {
      const state = (globalThis as any).adabatchDashboard
      return Object.entries(state.plots).map(([id, plot]: [string, any]) => ({
        id,
        points: plot.data[0].length,
        series: plot.series.length - 1,
        canvas: plot.root.querySelector("canvas") !== null
      }))
    })
    expect(charts.map((c) => c.id)).toEqual([
      "requests",
      "latency",
      "queue",
      "batch-size",
      "batch-tokens",
      "wait",
      "workers",
      "tokens",
      "event-loop"
    ])
    for (const chart of charts) expect(chart.canvas, chart.id).toBe(true)
    expect(load.statuses().get(200) ?? 0).toBeGreaterThan(0)
    expect(errors).toEqual([])
    expect(outside).toEqual([])
    await page.close()
    await load.stop()
  })

  it("the API reference renders every operation of the document, offline", async () => {
    const { errors, outside, page } = await watchedPage(browser, server.url)
    const spec = await (await fetch(`${server.url}/openapi.json`)).json() as { paths: Record<string, object> }
    const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0)
    await page.goto(`${server.url}/docs`, { waitUntil: "load" })
    await page.waitForFunction(
      (n: number) => (globalThis as any).document.querySelectorAll(".opblock").length >= n,
      { timeout: 25_000, polling: 250 },
      operations
    )
    expect(await page.$$eval(".opblock-summary-path", (els) => els.map((e) => e.textContent))).toContain("/embed")
    expect(errors).toEqual([])
    expect(outside).toEqual([])
    await page.close()
  })
})
