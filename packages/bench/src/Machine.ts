/**
 * A description of the machine a run happened on, printed at the top of every report: absolute
 * figures mean little without it.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"

/**
 * The machine and software versions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Machine {
  readonly cpuModel: string
  readonly logicalCpus: number
  /** Instruction-set extensions that matter for ONNX Runtime on CPU (`avx2`, `avx512f`, ...). */
  readonly cpuFlags: ReadonlyArray<string>
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly versions: Readonly<Record<string, string>>
  /** 1/5/15-minute load averages at the start of the run (they lag: recent work still shows). */
  readonly loadAverage: ReadonlyArray<number>
  /**
   * Share of all CPUs busy (0-1) during a short sample just before the run, when nothing of the
   * benchmark runs yet: other work on the machine (absent from results of older versions).
   */
  readonly busyAtStart?: number | undefined
  readonly gitCommit: string | undefined
  readonly gitDirty: boolean | undefined
}

const require = createRequire(import.meta.url)

const packageVersion = (name: string): string => {
  try {
    const main = require.resolve(name)
    let dir = main
    for (let i = 0; i < 6; i++) {
      dir = dir.slice(0, dir.lastIndexOf("/"))
      const file = `${dir}/package.json`
      if (Fs.existsSync(file)) {
        const json = JSON.parse(Fs.readFileSync(file, "utf8")) as { name?: string; version?: string }
        if (json.name === name && json.version !== undefined) return json.version
      }
    }
  } catch {
    // not installed
  }
  return "unknown"
}

const cpuFlags = (): Array<string> => {
  try {
    const info = Fs.readFileSync("/proc/cpuinfo", "utf8")
    const line = info.split("\n").find((l) => l.startsWith("flags")) ?? ""
    const flags = new Set(line.split(":")[1]?.trim().split(/\s+/) ?? [])
    return ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"].filter((f) =>
      flags.has(f)
    )
  } catch {
    return []
  }
}

const git = (args: ReadonlyArray<string>): string | undefined => {
  try {
    return ChildProcess.execFileSync("git", args, { stdio: ["ignore", "pipe", "ignore"] }).toString("utf8").trim()
  } catch {
    return undefined
  }
}

/**
 * Reads the description of this machine.
 *
 * @since 0.1.0
 * @category constructors
 */
export const describe = (busyAtStart: number): Machine => {
  const cpus = Os.cpus()
  const status = git(["status", "--porcelain", "--untracked-files=no"])
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    logicalCpus: Os.availableParallelism(),
    cpuFlags: cpuFlags(),
    memoryGiB: Math.round((Os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    node: process.version,
    versions: {
      effect: packageVersion("effect"),
      "onnxruntime-node": packageVersion("onnxruntime-node"),
      dataloader: packageVersion("dataloader"),
      vega: packageVersion("vega"),
      "vega-lite": packageVersion("vega-lite")
    },
    loadAverage: Os.loadavg().map((x) => Math.round(x * 100) / 100),
    busyAtStart,
    gitCommit: git(["rev-parse", "--short", "HEAD"]),
    gitDirty: status === undefined ? undefined : status.length > 0
  }
}

const cpuTimes = () => {
  let busy = 0
  let total = 0
  for (const { times } of Os.cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle
    busy += all - times.idle
    total += all
  }
  return { busy, total }
}

/**
 * The share of all CPUs (0-1) busy over `ms`, from the kernel's per-CPU times; the caller stays idle.
 *
 * @since 0.1.0
 * @category constructors
 */
export const busyShare = (ms: number): Effect.Effect<number> =>
  Effect.gen(function*() {
    const before = cpuTimes()
    yield* Effect.sleep(ms)
    const after = cpuTimes()
    const total = after.total - before.total
    return total > 0 ? Math.round(((after.busy - before.busy) / total) * 100) / 100 : 0
  })

/**
 * One line for the report header.
 *
 * @since 0.1.0
 * @category formatting
 */
export const summary = (m: Machine): string =>
  `${m.cpuModel}, ${m.logicalCpus} logical CPUs (${m.cpuFlags.join(", ") || "no SIMD flags read"}), ` +
  `${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, onnxruntime-node ${m.versions["onnxruntime-node"]}, ` +
  `effect ${m.versions["effect"]}; ` +
  (m.busyAtStart === undefined ? "" : `CPUs busy before the start ${Math.round(m.busyAtStart * 100)} %, `) +
  `load average at start ${m.loadAverage.join(" / ")}`
