/**
 * Two spinning modes (see `WorkerProtocol.Spinning`) side by side in one process: two instances of
 * the same model, single-text `embedBatch` calls alternating between them (A B, B A, ...) with idle
 * gaps, so that machine drift hits both alike. Neither mode may be `always`: its threads would
 * still spin while the other model runs.
 *
 *   pnpm tsx packages/core/test/model/scripts/spinning-ab.ts [run|off] [run|off] [model=default] [tokens=18]
 */
import { Effect } from "effect"
import type { Encoded } from "../../../src/model/EmbeddingModel.js"
import * as ModelSource from "../../../src/model/ModelSource.js"
import type { Spinning } from "../../../src/model/onnx/WorkerProtocol.js"

const mode = (arg: string | undefined, fallback: Spinning): Spinning => arg === "run" || arg === "off" ? arg : fallback
const modes = [mode(process.argv[2], "run"), mode(process.argv[3], "off")] as const
const modelName = process.argv[4] ?? "default"
const tokens = Number(process.argv[5] ?? 18)

const row = (length: number): Encoded => {
  const ids = new Int32Array(length)
  ids[0] = 101
  for (let i = 1; i < length - 1; i++) ids[i] = 1000 + ((7919 + i * 104729) % 20000)
  ids[length - 1] = 102
  return { ids, truncated: false }
}

const quantile = (values: ReadonlyArray<number>, q: number) =>
  [...values].sort((a, b) => a - b)[Math.floor(q * values.length)]!.toFixed(3)

const main = Effect.gen(function*() {
  const models = [
    yield* ModelSource.make({ model: modelName, spinning: modes[0] }),
    yield* ModelSource.make({ model: modelName, spinning: modes[1] })
  ] as const
  const single = [row(tokens)]
  for (let i = 0; i < 20; i++) for (const m of models) yield* m.embedBatch(single)
  const latencies: [Array<number>, Array<number>] = [[], []]
  for (let i = 0; i < 300; i++) {
    for (const k of i % 2 === 0 ? [0, 1] as const : [1, 0] as const) {
      yield* Effect.sleep("3 millis")
      const start = performance.now()
      yield* models[k].embedBatch(single)
      latencies[k].push(performance.now() - start)
    }
  }
  console.log(
    modes.map((m, k) => `${m}: p50 ${quantile(latencies[k]!, 0.5)} ms p90 ${quantile(latencies[k]!, 0.9)} ms`)
      .join("   ") + `  (${modelName}, batch 1 x ${tokens} tokens, 300 each)`
  )
})

Effect.runPromise(Effect.scoped(main)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
