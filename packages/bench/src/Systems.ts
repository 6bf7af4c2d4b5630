/**
 * The systems compared in one run, all in this process in front of **one** shared model instance
 * (the same worker threads and ONNX sessions): each system is a different batcher between the
 * same `tokenize` and the same `embedBatch`. A request is one text: the system tokenizes it,
 * batches it and answers with its vector.
 *
 * - `adaptive`: adabatch with the server's defaults (adaptive batch size and wait);
 * - `fixed-N`: adabatch with fixed policies, item cap N and a fixed 5 ms wait
 *   (`groupedWithin(N, 5 ms)`-style);
 * - `unbatched`: every text its own batch of one;
 * - `original`: the original system's algorithm (see `baselines/Original.ts`);
 * - `tei`: TEI's continuous batching (see `baselines/TeiStyle.ts`);
 * - `dataloader`: graphql/dataloader 2.2.3 (see `baselines/DataLoaderSystem.ts`).
 *
 * Every batch any system runs goes through one recorder, which logs its size and padded tokens.
 *
 * @since 0.1.0
 */
import type { Outcome } from "@adabatch/testkit/Load"
import { Cause, Effect, Exit, type Scope } from "effect"
import * as DataLoaderSystem from "./baselines/DataLoaderSystem.js"
import * as Original from "./baselines/Original.js"
import * as TeiStyle from "./baselines/TeiStyle.js"
import * as Unbatched from "./baselines/Unbatched.js"
import * as Core from "./Core.js"
import type { SystemName } from "./Options.js"

/**
 * One batch as the recorder saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface BatchRecord {
  readonly system: string
  readonly size: number
  /** Longest input x size (what a padded batch computes). */
  readonly paddedTokens: number
  readonly durationMs: number
}

/**
 * Records the batches run through a model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  /** The model with a recording `embedBatch`; `current` names the system to attribute batches to. */
  readonly wrap: (model: Core.EmbeddingModelService, system: string) => Core.EmbeddingModelService
  /** Takes and clears the records so far. */
  readonly drain: () => Array<BatchRecord>
}

/**
 * A fresh recorder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRecorder = (): Recorder => {
  let records: Array<BatchRecord> = []
  return {
    wrap: (model, system) => ({
      ...model,
      embedBatch: (batch) =>
        Effect.suspend(() => {
          const t0 = performance.now()
          let longest = 0
          for (const e of batch) if (e.ids.length > longest) longest = e.ids.length
          return Effect.onExit(model.embedBatch(batch), () =>
            Effect.sync(() => {
              records.push({
                system,
                size: batch.length,
                paddedTokens: longest * batch.length,
                durationMs: performance.now() - t0
              })
            }))
        })
    }),
    drain: () => {
      const out = records
      records = []
      return out
    }
  }
}

/**
 * A system under test.
 *
 * @since 0.1.0
 * @category models
 */
export interface System {
  /** Unique name in a run (`adaptive`, `fixed-32`, ...). */
  readonly name: string
  readonly kind: SystemName
  /** Embeds one text; never rejects. */
  readonly embed: (text: string) => Promise<Outcome>
}

const rejectionTags = new Set(["QueueFull", "Overloaded"])

/**
 * Maps an effect's exit to an outcome: success ok; `QueueFull` / `Overloaded` rejected; else error.
 *
 * @since 0.1.0
 * @category utils
 */
export const outcomeOf = <A, E>(exit: Exit.Exit<A, E>): Outcome => {
  if (Exit.isSuccess(exit)) return "ok"
  for (const reason of exit.cause.reasons) {
    if (Cause.isFailReason(reason)) {
      const e = reason.error as { _tag?: unknown }
      if (typeof e === "object" && e !== null && typeof e._tag === "string" && rejectionTags.has(e._tag)) {
        return "rejected"
      }
    }
  }
  return "error"
}

const toPromise = <A, E>(effect: Effect.Effect<A, E>): Promise<Outcome> => Effect.runPromiseExit(effect).then(outcomeOf)

/**
 * Builds the systems named in `names` over `model` in the current scope. `fixedSizes` gives one
 * `fixed-N` system per cap.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly model: Core.EmbeddingModelService
  readonly recorder: Recorder
  readonly names: ReadonlyArray<SystemName>
  readonly fixedSizes: ReadonlyArray<number>
  readonly fixedWaitMs: number
  readonly workers: number
}): Effect.Effect<Array<System>, Core.ModelLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const { model, recorder } = options
    const systems: Array<System> = []
    const tokenizeOne = (m: Core.EmbeddingModelService, text: string) =>
      Effect.map(m.tokenize([text], { truncate: true }), (encoded) => encoded[0]!)
    for (const kind of options.names) {
      if (kind === "adaptive" || kind === "fixed") {
        const configs = kind === "adaptive"
          ? [{ name: "adaptive", config: Core.ServerConfig.make({ workers: options.workers }) }]
          : options.fixedSizes.map((n) => ({
            name: `fixed-${n}`,
            config: Core.ServerConfig.make({
              workers: options.workers,
              batchPolicy: "fixed",
              waitPolicy: "fixed",
              maxWaitMs: options.fixedWaitMs,
              maxBatchSize: n
            })
          }))
        for (const { config, name } of configs) {
          const embedder = yield* Core.embedderFor(config, recorder.wrap(model, name))
          systems.push({ name, kind, embed: (text) => toPromise(embedder.embed([text])) })
        }
        continue
      }
      const m = recorder.wrap(model, kind)
      const run = (batch: ReadonlyArray<Core.Encoded>) => m.embedBatch(batch)
      switch (kind) {
        case "unbatched": {
          const s = Unbatched.make(run)
          systems.push({ name: kind, kind, embed: (text) => toPromise(Effect.flatMap(tokenizeOne(m, text), s.submit)) })
          break
        }
        case "original": {
          const s = yield* Original.make(run, {
            minBatchSize: 4,
            maxBatchSize: 32,
            hardTimeoutMs: 500,
            queueCapacity: 320
          })
          systems.push({ name: kind, kind, embed: (text) => toPromise(Effect.flatMap(tokenizeOne(m, text), s.submit)) })
          break
        }
        case "tei": {
          const s = yield* TeiStyle.make(run, {
            tokens: (e: Core.Encoded) => e.ids.length,
            maxBatchRequests: 8,
            maxBatchTokens: 16384,
            maxConcurrentRequests: 512,
            backends: options.workers
          })
          systems.push({ name: kind, kind, embed: (text) => toPromise(Effect.flatMap(tokenizeOne(m, text), s.submit)) })
          break
        }
        case "dataloader": {
          const s = DataLoaderSystem.make(run, { maxBatchSize: 32 })
          systems.push({ name: kind, kind, embed: (text) => toPromise(Effect.flatMap(tokenizeOne(m, text), s.submit)) })
          break
        }
      }
    }
    return systems
  })
