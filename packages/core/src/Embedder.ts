/**
 * `Embedder`: the embedding model behind the batching engine. Texts are tokenized at admission
 * (so each one's token count is its batching cost), submitted to a `Batcher` as one item each,
 * and answered once all of a request's items are done; items of one request may share batches
 * with other requests.
 *
 * This is what the HTTP server and in-process users call.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "effect"
import * as Batcher from "./batching/Batcher.js"
import type { BatcherError } from "./batching/BatchError.js"
import type { BatchSizePolicy } from "./batching/BatchSizePolicy.js"
import type { QueuePolicy } from "./batching/QueuePolicy.js"
import type { WaitPolicy } from "./batching/WaitPolicy.js"
import {
  EmbeddingModel,
  type Encoded,
  type Input,
  type ModelInfo,
  type TokenizeOptions
} from "./model/EmbeddingModel.js"
import {
  type InferenceFailed,
  InputTooLong,
  TokenizationFailed,
  type TokenizerWorkerFailed
} from "./model/ModelError.js"
import * as TokenStates from "./TokenStates.js"
import * as VectorShape from "./VectorShape.js"

/**
 * Per-call options. `dimensions` and `normalize` shape the vectors `embed` answers, once, in core
 * (see `VectorShape`): without them, vectors are the model's.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedOptions extends VectorShape.Options {
  /** Cut over-long texts instead of failing with `InputTooLong` (default `false`). */
  readonly truncate?: boolean
  /** Which end `truncate` cuts: `"right"` (default) keeps the start, `"left"` keeps the end. */
  readonly direction?: "left" | "right" | undefined
  /** Text put before every input (a prompt such as `"query: "`). */
  readonly prompt?: string | undefined
  /** Time budget for the whole call; default: the engine's request timeout. */
  readonly timeout?: Duration.Input
}

/**
 * Time spent in each stage of one call, in milliseconds (TEI-style response headers).
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedTimings {
  readonly tokenizationMs: number
  /**
   * Time the call's last item to finish (its critical path) waited in the queue. With
   * `inferenceMs` it is one item's engine time, so their sum never exceeds the deadline.
   */
  readonly queueMs: number
  /** Execution time of the batch that computed the call's last item to finish. */
  readonly inferenceMs: number
  readonly totalMs: number
}

/**
 * The result of one call: one vector per text, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbedResult {
  readonly embeddings: ReadonlyArray<Float32Array>
  /** Token count per text (special tokens included, after truncation). */
  readonly tokenCounts: ReadonlyArray<number>
  /** Sum of `tokenCounts`. */
  readonly tokens: number
  readonly timings: EmbedTimings
}

/**
 * Everything an `embed` call can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type EmbedError = InputTooLong | TokenizationFailed | TokenizerWorkerFailed | InferenceFailed | BatcherError

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class Embedder extends Context.Service<Embedder, {
  readonly info: ModelInfo
  /**
   * Embeds texts (or token ids): one vector per input, in order, shaped by `options.dimensions`
   * and `options.normalize` (see `VectorShape`). A `dimensions` that is not an integer from 1 to
   * `info.dimension` is a defect (check it first).
   */
  readonly embed: (texts: ReadonlyArray<Input>, options?: EmbedOptions) => Effect.Effect<EmbedResult, EmbedError>
  /**
   * The token states of each input (TEI's `/embed_all`), computed in runs of their own on the
   * model's workers; fails with `Unsupported` when the model gives none. The queue's refusal
   * applies as for `embed`.
   */
  readonly embedAll: (
    texts: ReadonlyArray<Input>,
    options?: Omit<EmbedOptions, keyof VectorShape.Options>
  ) => Effect.Effect<TokenStates.TokenStatesResult, TokenStates.TokenStatesError>
  /** The tokens of each text, with ids, text and offsets (TEI's `/tokenize`): the model's own. */
  readonly tokens: EmbeddingModel["Service"]["tokens"]
  /** The text of each list of token ids (TEI's `/decode`): the model's own. */
  readonly decode: EmbeddingModel["Service"]["decode"]
  /** Queue, workers and the adaptive policies' current values. */
  readonly snapshot: Effect.Effect<Batcher.BatcherSnapshot>
  /** Succeeds when the model answers. */
  readonly ping: Effect.Effect<void, InferenceFailed>
  /**
   * Would a request of `items` texts be refused right now (queue full, overloaded, shutting
   * down)? The error `embed` would fail with (the refusal is counted), or `undefined`. Lets a
   * server refuse before it reads or parses a body (`items` = 1 when the count is not known yet).
   */
  readonly precheck: (items: number, options?: Pick<EmbedOptions, "timeout">) => BatcherError | undefined
}>()("@adabatch/core/Embedder") {}

/**
 * The engine specialised to embeddings: tokenized texts in, vectors out. A `Context.Service`, so
 * in-process users can submit pre-tokenized inputs directly.
 *
 * @since 0.1.0
 * @category services
 */
export class EmbeddingBatcher extends Context.Service<
  EmbeddingBatcher,
  Batcher.Batcher<Encoded, Float32Array, InferenceFailed>
>()("@adabatch/core/EmbeddingBatcher") {}

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions {
  /** Batches running at once (default: the model's worker count). */
  readonly workers?: number | undefined
  /** Default time budget per call (default 30 s). */
  readonly requestTimeout?: Duration.Input | undefined
  /** How long closing the Layer waits for queued and in-flight work (default 10 s). */
  readonly drainTimeout?: Duration.Input | undefined
  /** Re-run a failed batch in halves so only the poisoned input fails (default false). */
  readonly isolateFailures?: boolean | undefined
  /**
   * Group texts of similar token length (look-ahead of `lookahead` x the item cap; a request is
   * never overtaken for more than `maxOvertakeMs`). Default: on, lookahead 4, 20 ms. `false` = FIFO.
   */
  readonly bucketing?: false | { readonly lookahead?: number; readonly maxOvertakeMs?: number } | undefined
  /**
   * Inputs of a large request (more inputs than this) queued at once; the rest enter as room
   * frees (default: the hard batch-size cap x `workers`). See `Batcher.Options.feedWindow`.
   */
  readonly feedWindow?: number | undefined
}

/**
 * The engine in front of the model, as a Layer of both {@link EmbeddingBatcher} and
 * {@link Embedder}. Each text costs its token count; a batch's cost is counted as padded tokens
 * (longest x count), which is what the model computes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBatcher = (
  options: LayerOptions = {}
): Layer.Layer<EmbeddingBatcher, never, EmbeddingModel | BatchSizePolicy | WaitPolicy | QueuePolicy> =>
  Layer.effect(
    EmbeddingBatcher,
    Effect.gen(function*() {
      const model = yield* EmbeddingModel
      return yield* Batcher.make<Encoded, Float32Array, InferenceFailed>({
        run: model.embedBatch,
        workers: options.workers ?? model.info.workers,
        cost: (e) => e.ids.length,
        batchCost: "padded",
        requestTimeout: options.requestTimeout,
        drainTimeout: options.drainTimeout,
        isolateFailures: options.isolateFailures,
        bucketing: options.bucketing === false
          ? undefined
          : { lookahead: options.bucketing?.lookahead ?? 4, maxOvertakeMs: options.bucketing?.maxOvertakeMs ?? 20 },
        feedWindow: options.feedWindow
      })
    })
  )

const now = () => performance.now()

/** Inputs tokenized between two turns of the event loop (a large request's tokenization is sliced). */
const TOKENIZE_SLICE = 128

/** Lets the event loop run once (I/O included) before going on. */
const yieldToEventLoop: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Tokenizes `texts` in slices of {@link TOKENIZE_SLICE}, letting the event loop run between them:
 * a request of 2,048 texts would otherwise hold it for its whole tokenization (~100 ms and more),
 * delaying every other request's I/O. Errors name the text's position in `texts`.
 */
const tokenizeInSlices = (
  model: EmbeddingModel["Service"],
  texts: ReadonlyArray<Input>,
  options: TokenizeOptions
): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed> => {
  if (texts.length <= TOKENIZE_SLICE) return model.tokenize(texts, options)
  const out: Array<Encoded> = []
  const slice = (
    from: number
  ): Effect.Effect<Array<Encoded>, InputTooLong | TokenizationFailed | TokenizerWorkerFailed> =>
    model.tokenize(texts.slice(from, from + TOKENIZE_SLICE), options).pipe(
      Effect.mapError((e) =>
        e._tag === "InputTooLong"
          ? new InputTooLong({ index: e.index + from, tokens: e.tokens, maxLength: e.maxLength, atLeast: e.atLeast })
          : e._tag === "TokenizationFailed"
          ? new TokenizationFailed({ index: e.index + from, reason: e.reason })
          : e
      ),
      Effect.flatMap((encoded) => {
        for (const e of encoded) out.push(e)
        const next = from + TOKENIZE_SLICE
        return next >= texts.length ? Effect.succeed(out) : Effect.andThen(yieldToEventLoop, slice(next))
      })
    )
  return slice(0)
}

/**
 * The item of a call that finished last (largest queue + batch time): the call's critical path.
 * Its queue and batch times are the call's timings, so that they add up to a time one item really
 * spent in the engine (the largest queue time of one item plus the largest batch time of another
 * would not).
 *
 * @example
 * ```ts
 * lastToFinish([
 *   { value: 0, queueMs: 900, batchMs: 50, batchSize: 4 },
 *   { value: 1, queueMs: 100, batchMs: 600, batchSize: 32 }
 * ]) // the first: 950 ms in the engine (not 900 + 600)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const lastToFinish = <O>(timed: ReadonlyArray<Batcher.Timed<O>>): Batcher.Timed<O> | undefined => {
  let last: Batcher.Timed<O> | undefined
  for (const t of timed) if (last === undefined || t.queueMs + t.batchMs > last.queueMs + last.batchMs) last = t
  return last
}

/**
 * `Embedder` on top of {@link EmbeddingBatcher} and the model.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedder: Layer.Layer<Embedder, never, EmbeddingModel | EmbeddingBatcher> = Layer.effect(
  Embedder,
  Effect.gen(function*() {
    const model = yield* EmbeddingModel
    const batcher = yield* EmbeddingBatcher
    const truncating = { truncate: true } as const
    const strict = { truncate: false } as const
    const tokenizeOptions = (options: EmbedOptions | undefined) =>
      options?.direction === undefined && options?.prompt === undefined
        ? options?.truncate === true ? truncating : strict
        : { truncate: options.truncate === true, direction: options.direction, prompt: options.prompt }
    const timeoutMsOf = (options?: Pick<EmbedOptions, "timeout">) =>
      options?.timeout === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.timeout))
    const precheck = (items: number, options?: Pick<EmbedOptions, "timeout">) =>
      batcher.precheck(items, timeoutMsOf(options))
    return Embedder.of({
      info: model.info,
      snapshot: batcher.snapshot,
      ping: model.ping,
      precheck,
      tokens: model.tokens,
      decode: model.decode,
      embedAll: (texts, options) =>
        Effect.suspend(() => {
          const refused = precheck(texts.length, options)
          if (refused !== undefined) return Effect.fail(refused)
          return Effect.flatMap(batcher.snapshot, (snapshot) =>
            TokenStates.run(model, texts, {
              ...tokenizeOptions(options),
              maxItems: snapshot.maxBatchSize,
              maxCost: snapshot.maxBatchCost,
              timeout: options?.timeout
            }))
        }),
      embed: (texts, options) =>
        Effect.suspend(() => {
          // a caller's mistake (the server checks `dimensions` against the model first)
          const misfit = options === undefined ? undefined : VectorShape.check(options, model.info.dimension)
          if (misfit !== undefined) return Effect.die(new RangeError(misfit))
          const shape = options === undefined ? undefined : VectorShape.shaper(model.info.normalize, options)
          // Admission is asked once, before tokenizing what could not be queued anyway (overload
          // protection): the permit holds the room until the texts are submitted.
          const permit = batcher.admit(texts.length, timeoutMsOf(options))
          if (!(permit instanceof Batcher.Permit)) return Effect.fail(permit)
          const t0 = now()
          return tokenizeInSlices(model, texts, tokenizeOptions(options)).pipe(
            Effect.flatMap((encoded) => {
              const t1 = now()
              const submitOptions = { timeout: options?.timeout, permit }
              return Effect.map(batcher.submitAll(encoded, submitOptions), (timed): EmbedResult => {
                const embeddings = new Array<Float32Array>(timed.length)
                const tokenCounts = new Array<number>(timed.length)
                let tokens = 0
                for (let i = 0; i < timed.length; i++) {
                  embeddings[i] = shape === undefined ? timed[i]!.value : shape(timed[i]!.value)
                  const count = encoded[i]!.ids.length
                  tokenCounts[i] = count
                  tokens += count
                }
                const last = lastToFinish(timed)
                return {
                  embeddings,
                  tokenCounts,
                  tokens,
                  timings: {
                    tokenizationMs: t1 - t0,
                    queueMs: last?.queueMs ?? 0,
                    inferenceMs: last?.batchMs ?? 0,
                    totalMs: now() - t0
                  }
                }
              })
            }),
            Effect.ensuring(Effect.sync(() => permit.release()))
          )
        })
    })
  })
)

/**
 * The model behind the engine: `Embedder` and `EmbeddingBatcher` from the model and the policies.
 *
 * @example
 * ```ts
 * import { BatchSizePolicy, Embedder, ModelSource, QueuePolicy, WaitPolicy } from "@adabatch/core"
 * import { Effect, Layer } from "effect"
 *
 * const EmbedderLive = Embedder.layer({ isolateFailures: true }).pipe(
 *   Layer.provide(ModelSource.layer({ model: "tiny" })),
 *   Layer.provide(Layer.mergeAll(
 *     BatchSizePolicy.adaptive({ maxBatchSize: 32, maxBatchCost: 16384 }),
 *     WaitPolicy.adaptive({ maxWaitMs: 5 }),
 *     QueuePolicy.layer({ capacity: 1024, overflow: "reject" })
 *   ))
 * )
 *
 * export const main = Effect.gen(function*() {
 *   const embedder = yield* Embedder.Embedder
 *   const { embeddings } = yield* embedder.embed(["first text", "second text"], { truncate: true })
 *   return embeddings.length // 2
 * }).pipe(Effect.provide(EmbedderLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<Embedder | EmbeddingBatcher, never, EmbeddingModel | BatchSizePolicy | WaitPolicy | QueuePolicy> =>
  layerEmbedder.pipe(Layer.provideMerge(layerBatcher(options)))
