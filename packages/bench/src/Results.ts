/**
 * The shape of `results.json`: the options, the machine, and every scenario's raw samples.
 *
 * @since 0.1.0
 */
import type { Machine } from "./Machine.js"
import type { BenchOptions } from "./Options.js"
import type { EngineResult } from "./scenarios/EngineScenario.js"
import type { LayoutResult } from "./scenarios/LayoutScenario.js"
import type { LoadResult } from "./scenarios/LoadScenario.js"
import type { MemoryResult } from "./scenarios/MemoryScenario.js"
import type { ModelResult } from "./scenarios/ModelScenario.js"
import type { OriginalResult } from "./scenarios/OriginalScenario.js"
import type { PeerResult } from "./scenarios/PeerScenario.js"
import type { PolicyResult } from "./scenarios/PolicyScenario.js"
import type { ReplicasResult } from "./scenarios/ReplicasScenario.js"
import type { SystemsResult } from "./scenarios/SystemsScenario.js"
import type { TransportResult } from "./scenarios/TransportScenario.js"

/**
 * Everything a run measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface Results {
  readonly version: 1
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationSeconds: number
  readonly options: BenchOptions
  readonly machine: Machine
  /** 1/5/15-minute load averages when the run ended. */
  readonly loadAverageEnd: ReadonlyArray<number>
  readonly model: {
    readonly name: string
    readonly dir: string | undefined
    readonly onnxPath: string | undefined
    readonly workers: number
    readonly intraOpNumThreads: number
  }
  readonly inputs: ReadonlyArray<{
    readonly kind: string
    readonly count: number
    readonly meanTokens: number
    readonly minTokens: number
    readonly maxTokens: number
  }>
  readonly scenarios: {
    model?: ModelResult | undefined
    transport?: TransportResult | undefined
    engine?: EngineResult | undefined
    original?: OriginalResult | undefined
    peer?: PeerResult | undefined
    systems?: SystemsResult | undefined
    load?: LoadResult | undefined
    memory?: MemoryResult | undefined
    layout?: LayoutResult | undefined
    replicas?: ReplicasResult | undefined
    policy?: PolicyResult | undefined
  }
  /** Scenarios that failed, with the error; the others still ran. */
  readonly failures: Array<{ readonly scenario: string; readonly message: string }>
}
