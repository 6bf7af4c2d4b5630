/**
 * `WaitPolicy`: how long a forming batch may wait for more items, measured from its **oldest**
 * request. The engine asks once per batch, when the batch opens on a free worker; the wait never
 * starts while all workers are busy (then the batch simply takes what queued meanwhile).
 *
 * - {@link none}: never wait (continuous batching, like TEI).
 * - {@link fixed}: wait up to `d` from the oldest request (Triton's `max_queue_delay`).
 * - {@link adaptive}: wait only when waiting can fill the batch sooner than the next worker frees.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

/**
 * What the engine knows when a batch opens.
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitContext {
  /** Items already taken into the forming batch. */
  readonly batchSize: number
  /** Items still in the queue behind them. */
  readonly queued: number
  /** The item cap for this batch. */
  readonly maxBatchSize: number
  /** How long the oldest item of the batch has waited already (ms). */
  readonly oldestAgeMs: number
  /** Workers free right now, this batch's included (>= 1). */
  readonly idleWorkers: number
  readonly workers: number
  /**
   * Expected ms until a busy worker frees (from the oldest running batch's start and the recent
   * mean batch duration); `Infinity` when none is busy.
   */
  readonly nextFreeMs: number
  /** Recent arrival rate (items per ms). */
  readonly arrivalRatePerMs: number
  /** Recent mean batch duration (ms), 0 when unknown. */
  readonly batchDurationMs: number
  /**
   * How long the engine had no work at all (nothing queued, no batch running) when the oldest item
   * arrived (ms); 0 when it had some. Unknown (`undefined`) counts as 0.
   */
  readonly idleMs?: number | undefined
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class WaitPolicy extends Context.Service<WaitPolicy, {
  readonly name: string
  /** Upper bound of any wait (ms). */
  readonly maxWaitMs: number
  /** Total wait for this batch, measured from its oldest request (ms); 0 = dispatch now. */
  readonly waitMs: (context: WaitContext) => number
  readonly describe: Effect.Effect<Record<string, number | string>>
}>()("@adabatch/core/WaitPolicy") {}

/**
 * Never wait: a batch is dispatched as soon as a worker is free, with everything queued.
 *
 * @example
 * ```ts
 * import { WaitPolicy } from "@adabatch/core"
 *
 * export const wait = WaitPolicy.none
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const none: Layer.Layer<WaitPolicy> = Layer.succeed(
  WaitPolicy,
  WaitPolicy.of({
    name: "none",
    maxWaitMs: 0,
    waitMs: () => 0,
    describe: Effect.succeed({ policy: "none", maxWaitMs: 0 })
  })
)

/**
 * Wait up to `maxWaitMs` from the oldest request for the batch to fill (it leaves early when full).
 *
 * @example
 * ```ts
 * import { WaitPolicy } from "@adabatch/core"
 *
 * export const wait = WaitPolicy.fixed(5) // like Triton's max_queue_delay of 5 ms
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const fixed = (maxWaitMs: number): Layer.Layer<WaitPolicy> => {
  if (!(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`)
  return Layer.succeed(
    WaitPolicy,
    WaitPolicy.of({
      name: "fixed",
      maxWaitMs,
      waitMs: (ctx) => ctx.batchSize >= ctx.maxBatchSize ? 0 : maxWaitMs,
      describe: Effect.succeed({ policy: "fixed", maxWaitMs })
    })
  )
}

/**
 * Options of the adaptive wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface AdaptiveOptions {
  /** Never wait longer than this from the oldest request (ms). */
  readonly maxWaitMs: number
  /**
   * Never wait longer than this fraction of a batch's recent duration (default 0.5): beyond that,
   * running the partial batch now and the rest in the next one is faster for everybody.
   */
  readonly maxFractionOfBatch?: number | undefined
}

/**
 * The adaptive wait: the seed's `AdaptiveTimeoutStrategy` done right.
 *
 * The seed shortened a fixed wait by queue size but still always waited, so a lone request paid the
 * timeout. Here the wait is zero unless it can pay off:
 * - the batch is already full, or another worker is idle (the next arrival would get a worker of
 *   its own at once), or no arrival rate is known: **no wait**;
 * - the expected gap to the next arrival, `1 / rate`, exceeds the bound: waiting cannot fill the
 *   batch sooner, **no wait** (a lone request at an idle server is dispatched at once);
 * - the engine sat idle for longer than the bound before the oldest request came: the last gap
 *   between arrivals already exceeded the bound, **no wait**. The rate and the batch duration are
 *   moving averages that lag behind when a burst ends (both still say "busy" for a few hundred
 *   ms); this keeps a lone request after a burst from waiting `maxWaitMs` for nobody;
 * - the batch is not expected to fill before another worker frees (`nextFreeMs`): **no wait**.
 *   From then on what arrives has a worker of its own, so waiting would only make one worker take
 *   what the other would have run, while it idles (in a closed loop nothing arrives at all until
 *   a worker frees: every such wait would be lost);
 * - otherwise wait the expected time to fill the batch, `(cap - size) / rate`, bounded by
 *   `maxWaitMs` and by `maxFractionOfBatch` x the recent batch duration.
 *
 * The wait is measured from the oldest request, so a request that already waited for a worker does
 * not wait again.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeAdaptive = (options: AdaptiveOptions): WaitPolicy["Service"] => {
  const maxWaitMs = options.maxWaitMs
  if (!(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`)
  const fraction = options.maxFractionOfBatch ?? 0.5
  let last = 0
  return WaitPolicy.of({
    name: "adaptive",
    maxWaitMs,
    waitMs: (ctx) => {
      last = adaptiveWait(ctx, maxWaitMs, fraction)
      return last
    },
    describe: Effect.sync(() => ({ policy: "adaptive", maxWaitMs, lastWaitMs: last, maxFractionOfBatch: fraction }))
  })
}

const adaptiveWait = (ctx: WaitContext, maxWaitMs: number, fraction: number): number => {
  const missing = ctx.maxBatchSize - ctx.batchSize - ctx.queued
  if (missing <= 0 || ctx.idleWorkers > 1 || !(ctx.arrivalRatePerMs > 0)) return 0
  const bound = Math.min(maxWaitMs, ctx.batchDurationMs > 0 ? ctx.batchDurationMs * fraction : maxWaitMs)
  const fillMs = missing / ctx.arrivalRatePerMs
  if (1 / ctx.arrivalRatePerMs > bound || (ctx.idleMs ?? 0) >= bound || fillMs > ctx.nextFreeMs) return 0
  return Math.min(bound, ctx.oldestAgeMs + fillMs)
}

/**
 * A Layer with the adaptive wait.
 *
 * @example
 * ```ts
 * import { WaitPolicy } from "@adabatch/core"
 *
 * // waits only when the batch can fill sooner than a worker frees, never over 5 ms
 * export const wait = WaitPolicy.adaptive({ maxWaitMs: 5 })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const adaptive = (options: AdaptiveOptions): Layer.Layer<WaitPolicy> =>
  Layer.sync(WaitPolicy, () => makeAdaptive(options))
