/**
 * The worker layout of a real ONNX model (the built-in `tiny` model, real sessions in real worker
 * threads): calibrated when workers and threads are both `auto`, cached per key, recalibrated on
 * request, capped by memory, and derived from the usable cores when only one of them is `auto`.
 * The calibration runs with a small time budget so the file takes seconds.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ensureBuiltinModel } from "../../src/model/builtin/index.js"
import * as ModelDirectory from "../../src/model/ModelDirectory.js"
import type * as Allowance from "../../src/model/onnx/layout/Allowance.js"
import * as LayoutCache from "../../src/model/onnx/layout/LayoutCache.js"
import * as LayoutCalibration from "../../src/model/onnx/layout/LayoutCalibration.js"
import * as LayoutChoice from "../../src/model/onnx/layout/LayoutChoice.js"
import * as WorkerLayout from "../../src/model/onnx/layout/WorkerLayout.js"
import * as OnnxModel from "../../src/model/onnx/OnnxModel.js"
import * as WorkerPool from "../../src/model/onnx/WorkerPool.js"

const cacheDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-layout-test-"))
afterAll(() => Fs.rmSync(cacheDir, { recursive: true, force: true }))

const GiB = 1024 ** 3
const allowance = (usableCores: number, availableMemoryBytes = 8 * GiB): Allowance.Allowance => ({
  usableCores,
  affinityCores: usableCores,
  cgroupCpuLimit: undefined,
  availableMemoryBytes,
  cgroupMemoryLimitBytes: undefined
})

const quick = { windowMs: 20, idleRuns: 3, idleGapMs: 1 }

const build = (options: Partial<OnnxModel.OnnxModelOptions>) =>
  Effect.gen(function*() {
    const dir = yield* ensureBuiltinModel("tiny")
    const model = yield* OnnxModel.make({
      dir,
      workers: "auto",
      intraOpNumThreads: "auto",
      cacheDir,
      calibration: quick,
      allowance: allowance(2),
      ...options
    })
    // the chosen layout serves
    const vectors = yield* Effect.orDie(
      model.embedBatch(Effect.runSync(model.tokenize(["a short text"], { truncate: true })))
    )
    assert.strictEqual(vectors.length, 1)
    return model.info
  })

const layoutOf = (info: { readonly workers: number; readonly intraOpNumThreads: number }) =>
  `${info.workers} x ${info.intraOpNumThreads}`

describe("workers and threads auto: a calibrated layout", () => {
  it.live("measures every candidate of the usable cores, picks one by the rule, and caches the figures", () =>
    Effect.scoped(Effect.gen(function*() {
      const info = yield* build({ recalibrate: true })
      const report = info.layout!
      assert.strictEqual(report.source, "calibrated")
      assert.strictEqual(report.usableCores, 2)
      assert.deepStrictEqual(report.candidates.map(LayoutChoice.label), ["1 x 2", "2 x 1"])
      for (const c of report.candidates) {
        assert.isAbove(c.shortItemsPerSecond, 0)
        assert.isAbove(c.longItemsPerSecond, 0)
        assert.isAbove(c.idleMs, 0)
      }
      assert.isAbove(report.memoryPerWorkerBytes!, 0)
      const again = LayoutChoice.choose(report.candidates, {
        memoryBudgetBytes: 0.8 * report.availableMemoryBytes,
        memoryPerWorkerBytes: report.memoryPerWorkerBytes
      })
      assert.strictEqual(layoutOf(info), `${again.workers} x ${again.threads}`)
      assert.match(report.reason, new RegExp(`^${again.workers} x ${again.threads}: highest throughput`))
      assert.isAbove(report.calibrationMs!, 0)
      const files = Fs.readdirSync(Path.join(cacheDir, "layouts")).filter((f) => f.endsWith(".json"))
      assert.isAtLeast(files.length, 1)
    })))

  it.live("the next start reuses the cached figures; recalibrate measures again", () =>
    Effect.scoped(Effect.gen(function*() {
      const first = (yield* build({ recalibrate: true })).layout!
      const cached = (yield* build({})).layout!
      assert.strictEqual(cached.source, "cached")
      assert.strictEqual(cached.measuredAt, first.measuredAt)
      assert.deepStrictEqual(cached.candidates, first.candidates)
      const fresh = (yield* build({ recalibrate: true })).layout!
      assert.strictEqual(fresh.source, "calibrated")
      assert.notStrictEqual(fresh.measuredAt, first.measuredAt)
    })))

  it.live("a different key (usable cores) is a different calibration; a damaged cache file is a miss", () =>
    Effect.scoped(Effect.gen(function*() {
      const three = (yield* build({ allowance: allowance(3) })).layout!
      assert.strictEqual(three.source, "calibrated")
      assert.deepStrictEqual(three.candidates.map(LayoutChoice.label), ["1 x 3", "3 x 1"])
      for (const file of Fs.readdirSync(Path.join(cacheDir, "layouts"))) {
        Fs.writeFileSync(Path.join(cacheDir, "layouts", file), "{ not json")
      }
      const again = (yield* build({ allowance: allowance(3) })).layout!
      assert.strictEqual(again.source, "calibrated")
      assert.strictEqual((yield* build({ allowance: allowance(3) })).layout!.source, "cached")
    })))

  it.live("memory caps the layout: candidates with more workers than fit are not measured", () =>
    Effect.scoped(Effect.gen(function*() {
      const info = yield* build({ allowance: allowance(2, 1024 * 1024), recalibrate: true })
      const report = info.layout!
      assert.strictEqual(layoutOf(info), "1 x 2")
      assert.deepStrictEqual(report.candidates.map(LayoutChoice.label), ["1 x 2"])
      assert.deepStrictEqual(report.skipped.map(LayoutChoice.label), ["2 x 1"])
      assert.match(report.reason, /not measured \(memory\): 2 x 1/)
    })))
})

describe("one of workers and threads given: no calibration", () => {
  it.live("workers given: threads = usable cores / workers", () =>
    Effect.scoped(Effect.gen(function*() {
      const info = yield* build({ workers: 2, allowance: allowance(5) })
      assert.strictEqual(layoutOf(info), "2 x 2")
      assert.strictEqual(info.layout!.source, "cores")
      assert.deepStrictEqual(info.layout!.candidates, [])
    })))

  it.live("threads given: workers = usable cores / threads, capped by memory", () =>
    Effect.scoped(Effect.gen(function*() {
      assert.strictEqual(layoutOf(yield* build({ intraOpNumThreads: 1, allowance: allowance(3) })), "3 x 1")
      const capped = yield* build({ intraOpNumThreads: 1, allowance: allowance(3, 1024 * 1024) })
      assert.strictEqual(layoutOf(capped), "1 x 1")
      assert.match(capped.layout!.reason, /capped to 1 by memory/)
    })))

  it.live("both given: as configured", () =>
    Effect.scoped(Effect.gen(function*() {
      const info = yield* build({ workers: 1, intraOpNumThreads: 1 })
      assert.strictEqual(layoutOf(info), "1 x 1")
      assert.strictEqual(info.layout!.source, "configured")
    })))
})

describe("measuring", () => {
  it.live("saturation runs every worker at once, and counts each worker's items", () =>
    Effect.scoped(Effect.gen(function*() {
      const manifest = yield* ModelDirectory.load(yield* ensureBuiltinModel("tiny"))
      const pool = yield* WorkerPool.make({
        modelFile: manifest.modelFile,
        workers: 3,
        sessionOptions: {
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          graphOptimizationLevel: "all",
          executionMode: "sequential",
          spinning: "run"
        },
        pooling: manifest.pooling,
        normalize: manifest.normalize,
        padId: manifest.tokenizer.padId,
        probeIds: manifest.tokenizer.probeIds,
        dimension: manifest.dimension,
        reuseInputBuffers: true,
        runTimeoutMs: undefined,
        faults: undefined
      })
      // a probe around the real pool: how many batches are in flight after the 3 warm-up batches,
      // and on which workers the measured ones ran
      let calls = 0
      let inFlight = 0
      let most = 0
      const ranOn = new Set<number>()
      const probe: LayoutCalibration.CalibrationPool = {
        run: (batch) =>
          Effect.suspend(() => {
            const measured = ++calls > 3
            inFlight++
            if (measured) most = Math.max(most, inFlight)
            return pool.run(batch).pipe(
              Effect.tap((out) => Effect.sync(() => measured && ranOn.add(out.worker))),
              Effect.ensuring(Effect.sync(() => void inFlight--))
            )
          })
      }
      const batches = WorkerLayout.calibrationBatches(manifest.tokenizer, manifest.maxLength)
      assert.deepStrictEqual(batches.short.map((e) => e.ids.length), Array(32).fill(16))
      assert.deepStrictEqual(batches.long.map((e) => e.ids.length), Array(8).fill(128))
      const itemsPerSecond = yield* LayoutCalibration.saturate(probe, 3, batches.short, 20)
      assert.isAbove(itemsPerSecond, 0)
      assert.strictEqual(most, 3, "all three workers busy at once")
      assert.deepStrictEqual([...ranOn].sort(), [0, 1, 2])
      const idleMs = yield* LayoutCalibration.idleLatency(probe, batches.idle, 3, 1)
      assert.isAbove(idleMs, 0)
    })))
})

describe("cache key", () => {
  it("every field of the key changes the file", () => {
    const key: LayoutCache.Key = {
      method: 1,
      modelSha256: "a",
      cpuModel: "cpu",
      usableCores: 2,
      onnxruntime: "1.30.0",
      session: "s"
    }
    const base = LayoutCache.fileFor("/c", key)
    for (
      const change of [
        { method: 2 },
        { modelSha256: "b" },
        { cpuModel: "other" },
        { usableCores: 3 },
        { onnxruntime: "1.31.0" },
        { session: "t" }
      ]
    ) {
      assert.notStrictEqual(LayoutCache.fileFor("/c", { ...key, ...change }), base)
    }
    assert.strictEqual(LayoutCache.onnxruntimeVersion(), "1.30.0")
  })
})
