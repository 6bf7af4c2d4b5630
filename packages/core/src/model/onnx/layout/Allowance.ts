/**
 * The CPU and memory this process may really use, as a container or a CPU affinity mask limits
 * them, not the host's totals:
 *
 * - usable cores: the CPUs of the affinity mask (`os.availableParallelism()`, which reads
 *   `sched_getaffinity` on Linux), further limited by the cgroup CPU quota (v2 `cpu.max`, v1
 *   `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the smallest along the cgroup's ancestors), rounded
 *   down, at least 1;
 * - available memory: `os.freemem()` (Linux: `MemAvailable`), further limited by the cgroup memory
 *   limit minus the cgroup's working set (v2 `memory.max` - (`memory.current` - `inactive_file`),
 *   v1 `memory.limit_in_bytes` - (`memory.usage_in_bytes` - `total_inactive_file`)).
 *
 * The cgroup files are found like the kernel lays them out: the process's cgroup paths from
 * `/proc/self/cgroup`, their mount points from `/proc/self/mountinfo`. Every file is read under a
 * root directory (`/` by default), so tests can lay out a fake `/proc` and `/sys/fs/cgroup`.
 * Anything missing or unreadable means "no limit from there".
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * Where the files are read from (default `/`), and the figures the operating system gives
 * (defaults: `os.availableParallelism()` and `os.freemem()`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AllowanceOptions {
  readonly root?: string | undefined
  readonly affinityCores?: number | undefined
  readonly freeMemoryBytes?: number | undefined
}

/**
 * The process's allowance and where each figure comes from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Allowance {
  /** Cores the process may keep busy (at least 1). */
  readonly usableCores: number
  /** CPUs in the affinity mask. */
  readonly affinityCores: number
  /** The cgroup CPU quota in cores (fractional), `undefined` without one. */
  readonly cgroupCpuLimit: number | undefined
  /** Bytes the process can still allocate. */
  readonly availableMemoryBytes: number
  /** The cgroup memory limit, `undefined` without one. */
  readonly cgroupMemoryLimitBytes: number | undefined
}

/** Limits at or above this mean "no limit" (cgroup v1 writes 2^63 rounded down to a page). */
const UNLIMITED = 2 ** 60

interface CgroupDirs {
  /** v1 directories of a controller, or the v2 directory, innermost first. */
  readonly v1: (controller: string) => ReadonlyArray<string>
  readonly v2: ReadonlyArray<string>
}

const readText = (file: string): string | undefined => {
  try {
    return Fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

const readNumber = (file: string): number | undefined => {
  const text = readText(file)?.trim()
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined
  return Number(text)
}

interface Mount {
  readonly root: string
  readonly mountPoint: string
  readonly fsType: string
  readonly superOptions: ReadonlyArray<string>
}

/** Octal escapes of mountinfo paths (`\040` for a space). */
const unescape = (path: string) =>
  path.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(parseInt(code, 8)))

/**
 * Parses `/proc/self/mountinfo` lines: `id parent major:minor root mountpoint options
 * [optional...] - fstype source superoptions`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseMountInfo = (text: string): ReadonlyArray<Mount> => {
  const mounts: Array<Mount> = []
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ")
    const dash = fields.indexOf("-")
    if (dash < 6 || fields.length < dash + 4) continue
    mounts.push({
      root: unescape(fields[3]!),
      mountPoint: unescape(fields[4]!),
      fsType: fields[dash + 1]!,
      superOptions: fields[dash + 3]!.split(",")
    })
  }
  return mounts
}

/**
 * Parses `/proc/self/cgroup` lines (`id:controllers:path`) into the path of each v1 controller
 * and the v2 path (key `""`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseProcCgroup = (text: string): ReadonlyMap<string, string> => {
  const paths = new Map<string, string>()
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim())
    if (match === null) continue
    const controllers = match[2]!
    if (controllers === "") paths.set("", match[3]!)
    else for (const c of controllers.split(",")) paths.set(c, match[3]!)
  }
  return paths
}

/** The directory of `cgroupPath` under `mount`, then its ancestors up to the mount point. */
const ancestry = (root: string, mount: Mount, cgroupPath: string): ReadonlyArray<string> => {
  const relative = mount.root === "/"
    ? cgroupPath
    : cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`)
    ? cgroupPath.slice(mount.root.length)
    : "" // a path outside the mount's root (no cgroup namespace view): the mount is our cgroup
  const top = Path.resolve(root, `.${mount.mountPoint}`)
  const start = Path.resolve(top, `.${relative}`)
  if (start !== top && !start.startsWith(`${top}${Path.sep}`)) return [top]
  const dirs: Array<string> = []
  for (let dir = start; dir.length >= top.length; dir = Path.dirname(dir)) {
    dirs.push(dir)
    if (dir === top) break
  }
  return dirs
}

const cgroupDirs = (root: string): CgroupDirs => {
  const mounts = parseMountInfo(readText(Path.join(root, "proc/self/mountinfo")) ?? "")
  const paths = parseProcCgroup(readText(Path.join(root, "proc/self/cgroup")) ?? "")
  const v2Mount = mounts.find((m) => m.fsType === "cgroup2")
  const v2Path = paths.get("")
  return {
    v2: v2Mount === undefined || v2Path === undefined ? [] : ancestry(root, v2Mount, v2Path),
    v1: (controller) => {
      const mount = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.includes(controller))
      const path = paths.get(controller)
      return mount === undefined || path === undefined ? [] : ancestry(root, mount, path)
    }
  }
}

const minimum = (values: ReadonlyArray<number | undefined>): number | undefined => {
  let min: number | undefined
  for (const v of values) if (v !== undefined && (min === undefined || v < min)) min = v
  return min
}

/** `cpu.max`: `max 100000` (no quota) or `<quota> <period>`. */
const cpuMax = (dir: string): number | undefined => {
  const match = /^(\d+)\s+(\d+)$/.exec(readText(Path.join(dir, "cpu.max"))?.trim() ?? "")
  return match === null || Number(match[2]) <= 0 ? undefined : Number(match[1]) / Number(match[2])
}

const cfsQuota = (dir: string): number | undefined => {
  const quota = readNumber(Path.join(dir, "cpu.cfs_quota_us"))
  const period = readNumber(Path.join(dir, "cpu.cfs_period_us"))
  return quota === undefined || period === undefined || quota <= 0 || period <= 0 ? undefined : quota / period
}

/**
 * The cgroup CPU quota in cores (e.g. 1.5), the smallest along the cgroup's ancestors in v2 and
 * v1; `undefined` without a quota.
 *
 * @since 0.1.0
 * @category allowance
 */
export const cgroupCpuLimit = (root = "/"): number | undefined => {
  const dirs = cgroupDirs(root)
  return minimum([...dirs.v2.map(cpuMax), ...dirs.v1("cpu").map(cfsQuota)])
}

const statField = (dir: string, file: string, field: string): number => {
  const match = new RegExp(`^${field} (\\d+)$`, "m").exec(readText(Path.join(dir, file)) ?? "")
  return match === null ? 0 : Number(match[1])
}

/** Limit and free bytes under it in one cgroup directory, or `undefined` without a limit. */
const memoryAt = (
  dir: string,
  files: { readonly limit: string; readonly usage: string; readonly inactive: string }
): { readonly limit: number; readonly free: number } | undefined => {
  const text = readText(Path.join(dir, files.limit))?.trim()
  if (text === undefined || !/^\d+$/.test(text)) return undefined
  const limit = Number(text)
  if (limit >= UNLIMITED) return undefined
  const usage = readNumber(Path.join(dir, files.usage)) ?? 0
  const workingSet = Math.max(0, usage - statField(dir, "memory.stat", files.inactive))
  return { limit, free: Math.max(0, limit - workingSet) }
}

/**
 * The cgroup memory limit and the bytes still free under it (the smallest along the cgroup's
 * ancestors, v2 and v1); `undefined` without a limit.
 *
 * @since 0.1.0
 * @category allowance
 */
export const cgroupMemory = (root = "/"): { readonly limit: number; readonly free: number } | undefined => {
  const dirs = cgroupDirs(root)
  const found = [
    ...dirs.v2.map((d) => memoryAt(d, { limit: "memory.max", usage: "memory.current", inactive: "inactive_file" })),
    ...dirs.v1("memory").map((d) =>
      memoryAt(d, { limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes", inactive: "total_inactive_file" })
    )
  ].filter((m) => m !== undefined)
  if (found.length === 0) return undefined
  return { limit: minimum(found.map((m) => m.limit))!, free: minimum(found.map((m) => m.free))! }
}

/**
 * Reads the process's allowance (synchronously: a few small files).
 *
 * @since 0.1.0
 * @category allowance
 */
export const read = (options: AllowanceOptions = {}): Allowance => {
  const root = options.root ?? "/"
  const affinityCores = Math.max(1, options.affinityCores ?? Os.availableParallelism())
  const cpuLimit = cgroupCpuLimit(root)
  const memory = cgroupMemory(root)
  const free = options.freeMemoryBytes ?? Os.freemem()
  return {
    usableCores: Math.max(1, Math.min(affinityCores, cpuLimit === undefined ? affinityCores : Math.floor(cpuLimit))),
    affinityCores,
    cgroupCpuLimit: cpuLimit,
    availableMemoryBytes: memory === undefined ? free : Math.min(free, memory.free),
    cgroupMemoryLimitBytes: memory?.limit
  }
}

/**
 * Cores this process may keep busy: the affinity mask and the cgroup CPU quota, at least 1.
 *
 * @since 0.1.0
 * @category allowance
 */
export const usableCores = (): number => read().usableCores
