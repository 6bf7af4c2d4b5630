/**
 * Vitest configuration of the reliability runner (`run.ts`): the root configuration (aliases to the
 * TypeScript sources, the Node 20 polyfill, the summary reporter), restricted to the reliability
 * suite, one file at a time so that no two load tests share the two cores. With
 * `ADABATCH_RELIABILITY_LONG=1` it includes the long version (`long/`, the soak).
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import root from "../../vitest.config.js"

const long = process.env["ADABATCH_RELIABILITY_LONG"] === "1"

export default defineConfig({
  ...root,
  root: fileURLToPath(new URL("../../", import.meta.url)),
  test: {
    ...root.test,
    include: long ? ["test/reliability/**/*.test.ts"] : ["test/reliability/*.test.ts"],
    exclude: ["**/node_modules/**"],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 900_000,
    hookTimeout: 900_000
  }
})
