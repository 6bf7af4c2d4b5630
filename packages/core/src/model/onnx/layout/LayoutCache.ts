/**
 * The worker-layout calibration, cached on disk: `<cache root>/layouts/<key hash>.json`, where the
 * key holds everything the figures depend on: the model file's sha256, the CPU model, the usable
 * cores, the onnxruntime version, the session settings and the calibration method's version. A
 * file that is missing, unreadable, of another key or of another shape is a miss (calibrate
 * again); a file that cannot be written is only logged.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { ModelLoadError } from "../../ModelError.js"

/**
 * Version of the calibration method (shapes, rule inputs): part of the key, bump it when the
 * figures a calibration produces change meaning.
 *
 * @since 0.1.0
 * @category constants
 */
export const CALIBRATION_VERSION = 1

const Key = Schema.Struct({
  method: Schema.Number,
  modelSha256: Schema.String,
  cpuModel: Schema.String,
  usableCores: Schema.Number,
  onnxruntime: Schema.String,
  session: Schema.String
})

const keyFields: ReadonlyArray<keyof Key> = [
  "method",
  "modelSha256",
  "cpuModel",
  "usableCores",
  "onnxruntime",
  "session"
]

/**
 * What a calibration's figures depend on.
 *
 * @since 0.1.0
 * @category models
 */
export type Key = typeof Key.Type

const FiguresSchema = Schema.Struct({
  workers: Schema.Number,
  threads: Schema.Number,
  shortItemsPerSecond: Schema.Number,
  longItemsPerSecond: Schema.Number,
  idleMs: Schema.Number,
  rssGrowthBytes: Schema.Number
})

const LayoutSchema = Schema.Struct({ workers: Schema.Number, threads: Schema.Number })

const Entry = Schema.Struct({
  key: Key,
  measuredAt: Schema.String,
  calibration: Schema.Struct({
    figures: Schema.Array(FiguresSchema),
    skipped: Schema.Array(LayoutSchema),
    memoryPerWorkerBytes: Schema.Number,
    durationMs: Schema.Number
  })
})

/**
 * One cached calibration.
 *
 * @since 0.1.0
 * @category models
 */
export type Entry = typeof Entry.Type

const decodeEntry = Schema.decodeUnknownResult(Entry)

/**
 * The onnxruntime-node version this process loads.
 *
 * @since 0.1.0
 * @category key
 */
export const onnxruntimeVersion = (): string => {
  try {
    const pkg = createRequire(import.meta.url)("onnxruntime-node/package.json") as { readonly version?: unknown }
    return typeof pkg.version === "string" ? pkg.version : "unknown"
  } catch {
    return "unknown"
  }
}

/**
 * The CPU model name (`os.cpus()`), e.g. `"Intel(R) Xeon(R) Processor"`.
 *
 * @since 0.1.0
 * @category key
 */
export const cpuModel = (): string => Os.cpus()[0]?.model.trim() || `unknown ${Os.arch()}`

/**
 * The sha256 of a file, read as a stream.
 *
 * @since 0.1.0
 * @category key
 */
export const sha256File = (file: string): Effect.Effect<string, ModelLoadError> =>
  Effect.tryPromise({
    try: () =>
      new Promise<string>((resolve, reject) => {
        const hash = createHash("sha256")
        Fs.createReadStream(file)
          .on("data", (chunk) => hash.update(chunk))
          .on("end", () => resolve(hash.digest("hex")))
          .on("error", reject)
      }),
    catch: (cause) => new ModelLoadError({ path: file, reason: `cannot read the model file: ${String(cause)}`, cause })
  })

/**
 * Where the calibration of `key` is cached under `cacheRoot`.
 *
 * @since 0.1.0
 * @category storage
 */
export const fileFor = (cacheRoot: string, key: Key): string => {
  const canonical = JSON.stringify(keyFields.map((k) => key[k]))
  return Path.join(cacheRoot, "layouts", `${createHash("sha256").update(canonical).digest("hex").slice(0, 24)}.json`)
}

const sameKey = (a: Key, b: Key) => keyFields.every((k) => a[k] === b[k])

/**
 * The cached calibration of `key`, if there is a valid one.
 *
 * @since 0.1.0
 * @category storage
 */
export const read = (cacheRoot: string, key: Key): Effect.Effect<Option.Option<Entry>> =>
  Effect.sync(() => {
    let json: unknown
    try {
      json = JSON.parse(Fs.readFileSync(fileFor(cacheRoot, key), "utf8"))
    } catch {
      return Option.none()
    }
    const decoded = decodeEntry(json)
    if (decoded._tag === "Failure" || !sameKey(decoded.success.key, key)) return Option.none()
    return decoded.success.calibration.figures.length > 0 ? Option.some(decoded.success) : Option.none()
  })

/**
 * Stores a calibration (written to a temporary file, then renamed, so a concurrent reader never
 * sees half a file). A failure is logged as a warning, not raised: the server runs without it.
 *
 * @since 0.1.0
 * @category storage
 */
export const write = (cacheRoot: string, entry: Entry): Effect.Effect<void> =>
  Effect.suspend(() => {
    const file = fileFor(cacheRoot, entry.key)
    try {
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      const temporary = `${file}.${process.pid}.${Date.now()}.tmp`
      Fs.writeFileSync(temporary, `${JSON.stringify(entry, null, 2)}\n`)
      Fs.renameSync(temporary, file)
      return Effect.void
    } catch (cause) {
      return Effect.logWarning(`cannot cache the worker layout calibration in ${file}: ${String(cause)}`)
    }
  })
