/**
 * Short or long version of the suite, and where measured figures go.
 *
 * - `ADABATCH_RELIABILITY_LONG=1`: the long version (overload 30 s per mode; the soak runs);
 * - `ADABATCH_RELIABILITY_RESULTS=<dir>`: each test file writes its figures there as JSON, for the
 *   report (`run.ts`). Unset (as in `pnpm test`), figures are not written.
 */

/** The long version. */
export const long = process.env["ADABATCH_RELIABILITY_LONG"] === "1"

/** How long each overload mode is held. */
export const overloadMs = long ? 30_000 : 5_000

/** How long the soak runs (long version only). */
export const soakMs = Number(process.env["ADABATCH_RELIABILITY_SOAK_MS"] ?? 600_000)

/** The figures directory, if any. */
export const resultsDir = process.env["ADABATCH_RELIABILITY_RESULTS"]
