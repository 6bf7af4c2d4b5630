/**
 * onnxruntime thread spinning (`run`, `always` or `off`, see `WorkerProtocol.Spinning`) for one
 * adabatch model alone: idle single-text latency, back-to-back batch throughput with a 1 ms
 * event-loop probe on the main thread, and the process's CPU time per idle request.
 *
 *   pnpm tsx packages/core/test/model/scripts/spinning.ts [run|always|off] [model=default]
 */
import { Effect } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { Encoded } from "../../../src/model/EmbeddingModel.js"
import * as ModelSource from "../../../src/model/ModelSource.js"
import { spinningModes } from "../../../src/model/onnx/spinning.mjs"
import type { Spinning } from "../../../src/model/onnx/WorkerProtocol.js"

const spinning: Spinning = spinningModes.find((mode) => mode === process.argv[2]) ?? "run"
const modelName = process.argv[3] ?? "default"

const row = (length: number, seed: number): Encoded => {
  const ids = new Int32Array(length)
  ids[0] = 101
  for (let i = 1; i < length - 1; i++) ids[i] = 1000 + ((seed * 7919 + i * 104729) % 20000)
  ids[length - 1] = 102
  return { ids, truncated: false }
}

const main = Effect.gen(function*() {
  const model = yield* ModelSource.make({ model: modelName, spinning })
  const single = [row(16, 1)]
  const batch = Array.from({ length: 32 }, (_, i) => row(16 + (i % 4) * 8, i))
  for (let i = 0; i < 20; i++) yield* model.embedBatch(single)
  const latencies: Array<number> = []
  const cpu = process.cpuUsage()
  for (let i = 0; i < 200; i++) {
    const start = performance.now()
    yield* model.embedBatch(single)
    latencies.push(performance.now() - start)
    yield* Effect.sleep("2 millis") // idle gaps between requests
  }
  const { system, user } = process.cpuUsage(cpu)
  latencies.sort((a, b) => a - b)
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const start = performance.now()
  let items = 0
  while (performance.now() - start < 5_000) {
    yield* model.embedBatch(batch)
    items += batch.length
  }
  delay.disable()
  console.log(
    `${model.info.id} spinning ${spinning.padEnd(6)}: single p50 ${latencies[100]!.toFixed(3)} ms ` +
      `p90 ${latencies[180]!.toFixed(3)} ms, CPU ${
        ((system + user) / 1000 / 200).toFixed(2)
      } ms each; back-to-back batch 32: ${
        (items / ((performance.now() - start) / 1000)).toFixed(0)
      } items/s; event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(2)} ms`
  )
})

Effect.runPromise(Effect.scoped(main)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
