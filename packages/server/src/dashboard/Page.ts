/**
 * The dashboard page (`GET /dashboard`): one self-contained HTML document, uPlot's script and
 * style sheet (read from the `uplot` npm package) and the page's own script
 * (`packages/server/assets/dashboard.js`) inlined, so it loads nothing from elsewhere and works
 * offline. Built on first use and kept.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

/** Script text is inlined in `<script>`: a literal `</script` inside it would end the element. */
const inlineScript = (source: string): string => source.replace(/<\/script/gi, "<\\/script")

const style = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; padding: 12px 16px; }
  header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
  h1 { font-size: 1.25rem; margin: 0 0 8px; }
  #status { font-size: 0.9rem; opacity: 0.8; }
  #status.failing, #status.draining { color: #d62828; opacity: 1; }
  #charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
  .card { border: 1px solid #8884; border-radius: 8px; padding: 8px; min-width: 0; }
  .card h2 { font-size: 0.95rem; margin: 0; }
  .card .now { font-size: 0.8rem; opacity: 0.75; margin: 2px 0 4px; min-height: 1em; }
  .uplot { font-family: inherit; }
`

const render = (): string => {
  const uplotJs = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8")
  const uplotCss = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8")
  const client = readFileSync(new URL("../../assets/dashboard.js", import.meta.url), "utf8")
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>adabatch dashboard</title>
  <link rel="icon" href="data:," />
  <style>${uplotCss}</style>
  <style>${style}</style>
</head>
<body>
  <header><h1>adabatch</h1><span id="status">connecting…</span></header>
  <main id="charts"></main>
  <script>${inlineScript(uplotJs)}</script>
  <script>${inlineScript(client)}</script>
</body>
</html>
`
}

let page: string | undefined

/**
 * The page's HTML (built on the first call).
 *
 * @since 0.1.0
 * @category rendering
 */
export const html = (): string => (page ??= render())
