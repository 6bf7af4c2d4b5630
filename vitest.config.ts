import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// vitest 5 declares node ^22.12; on Node 20 its failure reporter calls Map.groupBy (ES2024) and
// crashes, hiding the failure details and the summary line. This file runs in vitest's main
// process, so a polyfill here fixes it.
const MapCtor = Map as unknown as {
  groupBy?: <K, V>(items: Iterable<V>, key: (v: V, i: number) => K) => Map<K, Array<V>>
}
if (typeof MapCtor.groupBy !== "function") {
  MapCtor.groupBy = <K, V>(items: Iterable<V>, key: (v: V, i: number) => K) => {
    const m = new Map<K, Array<V>>()
    let i = 0
    for (const v of items) {
      const k = key(v, i++)
      const a = m.get(k)
      if (a) a.push(v)
      else m.set(k, [v])
    }
    return m
  }
}

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not dist/, so `pnpm test` needs no build step.
    alias: [
      { find: /^@adabatch\/core$/, replacement: src("core") },
      {
        find: /^@adabatch\/core\/testing$/,
        replacement: fileURLToPath(new URL("./packages/core/src/testing/index.ts", import.meta.url))
      },
      { find: /^@adabatch\/server$/, replacement: src("server") },
      { find: /^@adabatch\/bench$/, replacement: src("bench") }
    ]
  },
  test: {
    reporters: ["default", "./test/SummaryReporter.ts"],
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/reliability/long/**"],
    testTimeout: Number(process.env.TEST_TIMEOUT ?? 60_000),
    hookTimeout: 120_000,
    // ONNX sessions and HTTP servers are heavy on a 2-core machine: keep files from running all at once.
    maxWorkers: 2,
    fileParallelism: true
  }
})
