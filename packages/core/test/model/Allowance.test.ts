/**
 * The process's CPU and memory allowance, read from a fake `/proc` and `/sys/fs/cgroup` laid out in
 * a temporary directory: cgroup v2 and v1, nested cgroups, container views (mount roots), and
 * missing or unlimited files.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Allowance from "../../src/model/onnx/layout/Allowance.js"

const base = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-allowance-"))
afterAll(() => Fs.rmSync(base, { recursive: true, force: true }))
let n = 0

/** Lays out `files` (paths relative to the fake root) and returns the root. */
const fakeRoot = (files: Record<string, string>): string => {
  const root = Path.join(base, `root-${n++}`)
  for (const [file, content] of Object.entries(files)) {
    Fs.mkdirSync(Path.dirname(Path.join(root, file)), { recursive: true })
    Fs.writeFileSync(Path.join(root, file), content)
  }
  return root
}

const v2Mount = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
const v1Mounts = [
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw"
].join("\n")
const GiB = 1024 ** 3

describe("cgroup v2", () => {
  it("reads the CPU quota of cpu.max as cores", () => {
    const root = fakeRoot({
      "proc/self/mountinfo": v2Mount,
      "proc/self/cgroup": "0::/app.slice/server.service\n",
      "sys/fs/cgroup/app.slice/server.service/cpu.max": "150000 100000\n"
    })
    assert.strictEqual(Allowance.cgroupCpuLimit(root), 1.5)
    const allowance = Allowance.read({ root, affinityCores: 8, freeMemoryBytes: 4 * GiB })
    assert.strictEqual(allowance.usableCores, 1)
    assert.strictEqual(allowance.affinityCores, 8)
  })

  it("takes the smallest quota along the ancestors; max means none", () => {
    const root = fakeRoot({
      "proc/self/mountinfo": v2Mount,
      "proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
      "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "max 100000\n",
      "sys/fs/cgroup/kubepods/pod1/cpu.max": "400000 100000\n",
      "sys/fs/cgroup/kubepods/cpu.max": "1200000 100000\n",
      "sys/fs/cgroup/cpu.max": "max 100000\n"
    })
    assert.strictEqual(Allowance.cgroupCpuLimit(root), 4)
    assert.strictEqual(Allowance.read({ root, affinityCores: 16, freeMemoryBytes: GiB }).usableCores, 4)
    // the affinity mask is smaller than the quota: it wins
    assert.strictEqual(Allowance.read({ root, affinityCores: 3, freeMemoryBytes: GiB }).usableCores, 3)
  })

  it("a container's own view (cgroup namespace): the path is /", () => {
    const root = fakeRoot({
      "proc/self/mountinfo": v2Mount,
      "proc/self/cgroup": "0::/\n",
      "sys/fs/cgroup/cpu.max": "250000 100000\n",
      "sys/fs/cgroup/memory.max": `${2 * GiB}\n`,
      "sys/fs/cgroup/memory.current": `${1.5 * GiB}\n`,
      "sys/fs/cgroup/memory.stat": `anon 100\nfile 200\ninactive_file ${0.5 * GiB}\nactive_file 0\n`
    })
    const allowance = Allowance.read({ root, affinityCores: 64, freeMemoryBytes: 100 * GiB })
    assert.strictEqual(allowance.usableCores, 2)
    assert.strictEqual(allowance.cgroupCpuLimit, 2.5)
    assert.strictEqual(allowance.cgroupMemoryLimitBytes, 2 * GiB)
    // working set = 1.5 GiB - 0.5 GiB of inactive file cache: 1 GiB of the 2 GiB is free
    assert.strictEqual(allowance.availableMemoryBytes, 1 * GiB)
  })

  it("memory: the host's free memory when it is smaller; max means no limit", () => {
    const limited = fakeRoot({
      "proc/self/mountinfo": v2Mount,
      "proc/self/cgroup": "0::/\n",
      "sys/fs/cgroup/memory.max": `${8 * GiB}\n`,
      "sys/fs/cgroup/memory.current": `${1 * GiB}\n`
    })
    assert.strictEqual(
      Allowance.read({ root: limited, affinityCores: 2, freeMemoryBytes: 3 * GiB }).availableMemoryBytes,
      3 * GiB
    )
    const unlimited = fakeRoot({
      "proc/self/mountinfo": v2Mount,
      "proc/self/cgroup": "0::/\n",
      "sys/fs/cgroup/memory.max": "max\n",
      "sys/fs/cgroup/cpu.max": "max 100000\n"
    })
    const allowance = Allowance.read({ root: unlimited, affinityCores: 2, freeMemoryBytes: 3 * GiB })
    assert.strictEqual(allowance.cgroupMemoryLimitBytes, undefined)
    assert.strictEqual(allowance.cgroupCpuLimit, undefined)
    assert.strictEqual(allowance.availableMemoryBytes, 3 * GiB)
    assert.strictEqual(allowance.usableCores, 2)
  })
})

describe("cgroup v1", () => {
  it("reads cpu.cfs_quota_us / cpu.cfs_period_us of the cpu controller's cgroup and its ancestors", () => {
    const root = fakeRoot({
      "proc/self/mountinfo": v1Mounts,
      "proc/self/cgroup": "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
      "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n",
      "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
      "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "300000\n",
      "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000\n",
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
      "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": `${4 * GiB}\n`,
      "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": `${3 * GiB}\n`,
      "sys/fs/cgroup/memory/docker/abc/memory.stat": `cache 5\ntotal_inactive_file ${1 * GiB}\n`,
      "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"
    })
    const allowance = Allowance.read({ root, affinityCores: 8, freeMemoryBytes: 10 * GiB })
    assert.strictEqual(allowance.cgroupCpuLimit, 3)
    assert.strictEqual(allowance.usableCores, 3)
    assert.strictEqual(allowance.cgroupMemoryLimitBytes, 4 * GiB)
    assert.strictEqual(allowance.availableMemoryBytes, 2 * GiB)
  })

  it("a mount whose root is the container's cgroup (no cgroup namespace)", () => {
    const root = fakeRoot({
      "proc/self/mountinfo": "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n",
      "proc/self/cgroup": "4:cpu:/docker/abc\n",
      "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000\n",
      "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"
    })
    assert.strictEqual(Allowance.cgroupCpuLimit(root), 0.5)
    // half a core still runs one worker
    assert.strictEqual(Allowance.read({ root, affinityCores: 4, freeMemoryBytes: GiB }).usableCores, 1)
  })
})

describe("no cgroup information", () => {
  it("missing or unreadable files mean no limit", () => {
    const root = fakeRoot({ "proc/self/cgroup": "garbage\n" })
    const allowance = Allowance.read({ root, affinityCores: 6, freeMemoryBytes: 5 * GiB })
    assert.deepStrictEqual(allowance, {
      usableCores: 6,
      affinityCores: 6,
      cgroupCpuLimit: undefined,
      availableMemoryBytes: 5 * GiB,
      cgroupMemoryLimitBytes: undefined
    })
  })

  it("this process: at least one core, at most the affinity mask", () => {
    const allowance = Allowance.read()
    assert.isAtLeast(allowance.usableCores, 1)
    assert.isAtMost(allowance.usableCores, Os.availableParallelism())
    assert.isAbove(allowance.availableMemoryBytes, 0)
  })
})

describe("parsers", () => {
  it("mountinfo: optional fields and escaped paths", () => {
    const mounts = Allowance.parseMountInfo(
      "36 35 98:0 /a\\040b /mnt/x\\040y rw,noatime master:1 shared:2 - cgroup cgroup rw,cpu,cpuacct\nshort line\n"
    )
    assert.deepStrictEqual(mounts, [{
      root: "/a b",
      mountPoint: "/mnt/x y",
      fsType: "cgroup",
      superOptions: ["rw", "cpu", "cpuacct"]
    }])
  })

  it("/proc/self/cgroup: controllers and the v2 line", () => {
    const paths = Allowance.parseProcCgroup("4:cpu,cpuacct:/a\n0::/b\n9:name=systemd:/c\n")
    assert.strictEqual(paths.get("cpu"), "/a")
    assert.strictEqual(paths.get("cpuacct"), "/a")
    assert.strictEqual(paths.get(""), "/b")
    assert.strictEqual(paths.get("name=systemd"), "/c")
  })
})
