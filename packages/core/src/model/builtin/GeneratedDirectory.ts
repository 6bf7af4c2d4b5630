/**
 * A directory of generated files, cached on disk and safe to share between processes:
 *
 * - **Checksums.** The directory holds a `SHA256SUMS` manifest (the `sha256sum` format, so
 *   `sha256sum -c SHA256SUMS` works) listing exactly the expected files. A directory whose manifest
 *   is missing or does not match every file's content is regenerated.
 * - **Atomic publication.** Files are written into a fresh temporary sibling directory, which is
 *   renamed into place only once complete. A reader never sees a half-written directory, and a
 *   process killed while generating leaves only a temporary directory behind (removed later).
 * - **One generator at a time.** Generation runs under a lock file created with `O_EXCL`
 *   (`<dir>.lock`, holding the owner's host, pid, start time and a random token). Other processes (or fibers)
 *   wait for the lock to go away and then use the published directory. A lock whose owner process
 *   is gone, or that is older than `staleLockAfterMs`, is broken. The lock only avoids duplicated
 *   work: correctness rests on the atomic rename, so even two generators racing after a broken
 *   lock publish a complete directory.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import * as Fs from "node:fs/promises"
import { hostname } from "node:os"
import * as Path from "node:path"
import { ModelLoadError } from "../ModelError.js"

/**
 * Name of the checksum manifest inside a generated directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const MANIFEST_FILE = "SHA256SUMS"

/**
 * One generated file: its name inside the directory and its content.
 *
 * @since 0.1.0
 * @category models
 */
export interface GeneratedFile {
  readonly name: string
  readonly data: Uint8Array | string
}

/**
 * Options of {@link ensureGeneratedDirectory}.
 *
 * @since 0.1.0
 * @category models
 */
export interface EnsureOptions {
  /** How often a waiting process checks the lock, in ms. Default 100. */
  readonly pollIntervalMs?: number
  /** Age after which a lock is considered abandoned even if its owner still runs. Default 10 min. */
  readonly staleLockAfterMs?: number
  /** How long to wait for another process's generation before failing. Default 15 min. */
  readonly timeoutMs?: number
}

interface LockOwner {
  readonly host: string
  readonly pid: number
  readonly createdAt: number
  /** Random: tells this acquisition apart from any other, even of the same process. */
  readonly token: string
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex")

const sha256File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(file)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
  })

const MANIFEST_LINE = /^([0-9a-f]{64}) [ *](.+)$/

/**
 * Formats a `SHA256SUMS` manifest for the given files (sorted by name).
 *
 * @since 0.1.0
 * @category checksums
 */
export const formatManifest = (files: ReadonlyArray<GeneratedFile>): string =>
  [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((file) => `${sha256(file.data)}  ${file.name}\n`)
    .join("")

/**
 * Checks a directory against its manifest: the manifest must list exactly `expectedFiles` and
 * every file's sha256 must match. Returns a description of the first problem, or `undefined`
 * when the directory is complete and intact. Never fails: an unreadable directory is a problem.
 *
 * @since 0.1.0
 * @category checksums
 */
export const verifyGeneratedDirectory = (
  dir: string,
  expectedFiles: ReadonlyArray<string>
): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    let manifest: string
    try {
      manifest = await Fs.readFile(Path.join(dir, MANIFEST_FILE), "utf8")
    } catch (error) {
      return errorCode(error) === "ENOENT" ? `${MANIFEST_FILE} is missing` : `cannot read ${MANIFEST_FILE}: ${error}`
    }
    const listed = new Map<string, string>()
    for (const line of manifest.split("\n")) {
      if (line === "") continue
      const match = MANIFEST_LINE.exec(line)
      if (match === null) return `${MANIFEST_FILE} has a malformed line: ${JSON.stringify(line)}`
      listed.set(match[2]!, match[1]!)
    }
    const expected = new Set(expectedFiles)
    for (const name of expected) {
      if (!listed.has(name)) return `${MANIFEST_FILE} does not list ${name}`
    }
    for (const name of listed.keys()) {
      if (!expected.has(name)) return `${MANIFEST_FILE} lists an unexpected file ${name}`
    }
    for (const [name, digest] of listed) {
      try {
        if ((await sha256File(Path.join(dir, name))) !== digest) return `${name} does not match its checksum`
      } catch (error) {
        return `cannot read ${name}: ${error}`
      }
    }
    return undefined
  })

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === "EPERM"
  }
}

const readLockOwner = async (lockFile: string): Promise<LockOwner | undefined> => {
  try {
    const owner: unknown = JSON.parse(await Fs.readFile(lockFile, "utf8"))
    if (
      typeof owner === "object" && owner !== null && "host" in owner && typeof owner.host === "string" &&
      "pid" in owner && typeof owner.pid === "number" && "createdAt" in owner &&
      typeof owner.createdAt === "number" && "token" in owner && typeof owner.token === "string"
    ) {
      return { host: owner.host, pid: owner.pid, createdAt: owner.createdAt, token: owner.token }
    }
    return undefined
  } catch {
    return undefined
  }
}

type LockState = { readonly _tag: "acquired"; readonly token: string } | "held" | "broken"

/**
 * Tries to take the lock once. `acquired` carries the token to release it with. `held`: another
 * live owner has it. `broken`: it was stale and has been removed (try again at once).
 */
const tryLock = async (lockFile: string, staleAfterMs: number): Promise<LockState> => {
  const me: LockOwner = {
    host: hostname(),
    pid: process.pid,
    createdAt: Date.now(),
    token: randomBytes(8).toString("hex")
  }
  try {
    await Fs.writeFile(lockFile, JSON.stringify(me), { flag: "wx" })
    return { _tag: "acquired", token: me.token }
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error
  }
  const owner = await readLockOwner(lockFile)
  let stale: boolean
  if (owner === undefined) {
    // Being written right now, or garbage: judge by the file's age.
    const stat = await Fs.stat(lockFile).catch(() => undefined)
    if (stat === undefined) return "broken" // released meanwhile
    stale = Date.now() - stat.mtimeMs > Math.min(staleAfterMs, 30_000)
  } else {
    stale = (owner.host === me.host && !isAlive(owner.pid)) || Date.now() - owner.createdAt > staleAfterMs
  }
  if (!stale) return "held"
  // Re-read just before removing, so a lock re-taken in between is left alone.
  const again = await readLockOwner(lockFile)
  if (again?.token === owner?.token) {
    await Fs.rm(lockFile, { force: true })
  }
  return "broken"
}

/** Removes the lock if it is still the one taken with `token` (it may have been broken as stale). */
const unlock = async (lockFile: string, token: string): Promise<void> => {
  if ((await readLockOwner(lockFile))?.token === token) await Fs.rm(lockFile, { force: true })
}

/** Removes temporary and replaced directories left by crashed generators. */
const removeLeftovers = async (dir: string, staleAfterMs: number): Promise<void> => {
  const parent = Path.dirname(dir)
  const base = Path.basename(dir)
  const host = hostname()
  for (const entry of await Fs.readdir(parent)) {
    const match = /^(.*)\.(?:tmp|old)-(.+)-(\d+)-[0-9a-f]+$/.exec(entry)
    if (match === null || match[1] !== base) continue
    const path = Path.join(parent, entry)
    const stat = await Fs.stat(path).catch(() => undefined)
    if (stat === undefined) continue
    const pid = Number(match[3])
    if ((match[2] === host && pid !== process.pid && !isAlive(pid)) || Date.now() - stat.mtimeMs > staleAfterMs) {
      await Fs.rm(path, { recursive: true, force: true })
    }
  }
}

const uniqueSuffix = () => `${hostname()}-${process.pid}-${randomBytes(6).toString("hex")}`

/**
 * Writes the files and their manifest into a new temporary directory and renames it to `dir`.
 * Called under the lock, after `dir` failed verification: an existing `dir` is corrupt (or was
 * just published by a generator that broke our lock: same bytes), so it is swapped out.
 */
const publish = async (dir: string, files: ReadonlyArray<GeneratedFile>): Promise<void> => {
  const tmp = `${dir}.tmp-${uniqueSuffix()}`
  await Fs.mkdir(tmp)
  try {
    for (const file of files) await Fs.writeFile(Path.join(tmp, file.name), file.data)
    await Fs.writeFile(Path.join(tmp, MANIFEST_FILE), formatManifest(files))
    try {
      await Fs.rename(tmp, dir)
      return
    } catch (error) {
      const code = errorCode(error)
      // Linux: ENOTEMPTY; other systems: EEXIST, or EPERM on Windows.
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "EPERM") throw error
    }
    const old = `${dir}.old-${uniqueSuffix()}`
    await Fs.rename(dir, old)
    await Fs.rename(tmp, dir)
    await Fs.rm(old, { recursive: true, force: true })
  } finally {
    await Fs.rm(tmp, { recursive: true, force: true })
  }
}

/**
 * Returns `dir` once it holds an intact copy of the generated files, generating them if needed.
 *
 * `generate` must produce exactly the files named in `expectedFiles` (not counting the manifest),
 * and should be deterministic: whichever concurrent generator publishes, readers get the same
 * bytes. It only runs when the directory is missing or fails verification, under the lock.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureGeneratedDirectory = <R>(
  dir: string,
  expectedFiles: ReadonlyArray<string>,
  generate: Effect.Effect<ReadonlyArray<GeneratedFile>, ModelLoadError, R>,
  options: EnsureOptions = {}
): Effect.Effect<string, ModelLoadError, R> => {
  const pollIntervalMs = options.pollIntervalMs ?? 100
  const staleAfterMs = options.staleLockAfterMs ?? 10 * 60_000
  const timeoutMs = options.timeoutMs ?? 15 * 60_000
  const lockFile = `${dir}.lock`
  const fail = (reason: string, cause?: unknown) =>
    new ModelLoadError(cause === undefined ? { path: dir, reason } : { path: dir, reason, cause })
  const io = <A>(what: string, run: () => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: (cause) => fail(`${what}: ${String(cause)}`, cause) })

  const checkFiles = (files: ReadonlyArray<GeneratedFile>) => {
    const names = files.map((f) => f.name).sort()
    const expected = [...expectedFiles].sort()
    return names.length === expected.length && names.every((n, i) => n === expected[i])
      ? Effect.succeed(files)
      : Effect.fail(fail(`the generator produced [${names.join(", ")}], expected [${expected.join(", ")}]`))
  }

  // Runs with the lock held. Another process may have published while we waited for the lock.
  const generateUnderLock = Effect.gen(function*() {
    if ((yield* verifyGeneratedDirectory(dir, expectedFiles)) === undefined) return
    yield* io("cannot clean up leftovers of an earlier generation", () => removeLeftovers(dir, staleAfterMs))
    const files = yield* Effect.flatMap(generate, checkFiles)
    yield* io("cannot write the generated files", () => publish(dir, files))
    const problem = yield* verifyGeneratedDirectory(dir, expectedFiles)
    if (problem !== undefined) return yield* Effect.fail(fail(`the generated directory is invalid: ${problem}`))
  })

  return Effect.gen(function*() {
    if ((yield* verifyGeneratedDirectory(dir, expectedFiles)) === undefined) return dir
    yield* io("cannot create the cache directory", () => Fs.mkdir(Path.dirname(dir), { recursive: true }))
    const deadline = Date.now() + timeoutMs
    while (true) {
      // Taking the lock and registering its release cannot be interrupted in between.
      const state = yield* Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          io("cannot take the generation lock", () => tryLock(lockFile, staleAfterMs)),
          (state): Effect.Effect<LockState, ModelLoadError, R> =>
            typeof state === "object"
              ? restore(generateUnderLock).pipe(
                Effect.ensuring(Effect.promise(() => unlock(lockFile, state.token).catch(() => undefined))),
                Effect.as(state)
              )
              : Effect.succeed(state)
        )
      )
      if (typeof state === "object") return dir
      if (state === "held") {
        if (Date.now() > deadline) {
          return yield* Effect.fail(fail(`timed out after ${timeoutMs} ms waiting for ${lockFile} to be released`))
        }
        yield* Effect.sleep(pollIntervalMs)
      }
    }
  })
}
