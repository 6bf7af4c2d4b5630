/**
 * A real browser for the page tests: the system's Chromium (Debian's `chromium` package, or the
 * path in `CHROMIUM_PATH`), headless, driven with puppeteer-core (which never downloads a browser).
 * Only requests to the server under test are let through: anything else is aborted and recorded,
 * so a page that would need the network fails its test.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import puppeteer, { type Browser, type Page } from "puppeteer-core"

/** The Chromium executable, or `undefined` when none is installed. */
export const chromiumPath = (): string | undefined => {
  const configured = process.env["CHROMIUM_PATH"]
  if (configured !== undefined && configured !== "") return configured
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const found = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim()
      if (found !== "" && existsSync(found)) return found
    } catch {
      // not installed under this name
    }
  }
  return undefined
}

export const launch = (executablePath: string): Promise<Browser> =>
  puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--mute-audio"],
    protocolTimeout: 60_000
  })

/** What a page did that it should not: script errors, console errors, failed or outside requests. */
export interface Watched {
  readonly page: Page
  readonly errors: Array<string>
  readonly outside: Array<string>
}

/** A new page that lets through only requests to `origin` (and `data:` URLs), and records errors. */
export const watchedPage = async (browser: Browser, origin: string): Promise<Watched> => {
  const page = await browser.newPage()
  const errors: Array<string> = []
  const outside: Array<string> = []
  await page.setRequestInterception(true)
  page.on("request", (request) => {
    const url = request.url()
    if (url.startsWith(origin) || url.startsWith("data:")) void request.continue()
    else {
      outside.push(url)
      void request.abort()
    }
  })
  page.on("pageerror", (error) => errors.push(`page error: ${error instanceof Error ? error.message : String(error)}`))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`)
  })
  page.on("requestfailed", (request) => {
    if (request.url().startsWith(origin)) errors.push(`request failed: ${request.url()}`)
  })
  return { page, errors, outside }
}
