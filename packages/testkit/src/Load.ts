/**
 * Load patterns, independent of what is loaded: each takes a `send(i)` that performs request `i`
 * (an HTTP request or an in-process call) and resolves with its outcome.
 *
 * - {@link closedLoop}: `concurrency` clients, each sending its next request when the previous one
 *   returned (the original system's experiments, capacity measurements).
 * - {@link openLoop}: requests leave at planned times (a Poisson schedule) whatever the system does;
 *   latency is measured **from the planned send time**, so a generator or system that falls behind
 *   shows it as latency instead of silently sending less (no coordinated omission).
 * - {@link sequential}: one request at a time on an idle system (the single-request latency test).
 *
 * Every result records the generator process's own CPU use over the window, as a share of one
 * core: when it nears 1 the generator, not the system, may be the bottleneck.
 *
 * The reliability suite's phases, which keep every HTTP outcome instead, are `Traffic`.
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import type { Schedule } from "./Arrivals.js"

/**
 * How one request ended: answered, refused by back-pressure (HTTP 429/503, `QueueFull`), or lost
 * (any other error, a closed connection, no answer before the drain timeout).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "ok" | "rejected" | "error"

/**
 * Performs request `i`.
 *
 * @since 0.1.0
 * @category models
 */
export type Send = (i: number) => Promise<Outcome>

/**
 * What one load window measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadResult {
  readonly mode: "closed" | "open" | "sequential"
  /** Requests whose outcome is counted (those started after the warm-up). */
  readonly counted: number
  readonly ok: number
  readonly rejected: number
  readonly errors: number
  /** Requests still unanswered at the drain timeout (counted in `errors` too). */
  readonly unanswered: number
  /** Length of the measured window (ms). */
  readonly elapsedMs: number
  /** Successful responses per second over the measured window. */
  readonly throughput: number
  /** Latencies of the successful requests (ms), in completion order. */
  readonly latenciesMs: Array<number>
  /** Open loop: how late the generator sent each request compared with its plan (ms). */
  readonly lagMs: Array<number>
  /** Generator process CPU (user + system) over the window as a share of one core. */
  readonly generatorCpuShare: number
}

/**
 * Tallies outcomes and latencies.
 *
 * @internal
 */
class Tally {
  ok = 0
  rejected = 0
  errors = 0
  /** Sum of every counted request's latency, whatever its outcome. */
  allLatencySum = 0
  readonly latencies: Array<number> = []
  add(outcome: Outcome, latencyMs: number): void {
    this.allLatencySum += latencyMs
    if (outcome === "ok") {
      this.ok++
      this.latencies.push(latencyMs)
    } else if (outcome === "rejected") this.rejected++
    else this.errors++
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const safeSend = (send: Send, i: number): Promise<Outcome> => {
  try {
    return send(i).catch(() => "error" as const)
  } catch {
    return Promise.resolve("error" as const)
  }
}

/**
 * `concurrency` clients each send requests back to back, until `total` requests were sent or
 * `durationMs` passed (whichever is given; both: whichever comes first). Requests started within
 * the warm-up are not counted: the first `warmupMs`, and with a duration also until every client
 * was answered once (a slow batch can take longer than any fixed warm-up). With a duration, the
 * window then lasts `durationMs`, extended until `minCounted` requests were answered. Requests
 * still running at the end are awaited.
 *
 * Throughput with a duration follows Little's law: with `N` clients always busy, the system
 * completes `N / mean latency` requests per second, times the share that succeeded. Counting
 * answers inside a short window instead is quantised by whole batches (a batcher answers in
 * bursts, and a slow model gives a window only a few of them) and biased by the requests cut
 * off at its ends. With only a request total, throughput is successes over the time from the
 * first request to the last answer, as the original experiments measured it.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpSend, Load } from "@adabatch/testkit"
 *
 * const port = 8080
 * const pool = HttpClient.makePool("127.0.0.1", port)
 * const send = HttpSend.make(pool, HttpSend.embedRequests(port, "/embed", ["a short text"]))
 * const result = await Load.closedLoop({ send, concurrency: 16, durationMs: 5_000, warmupMs: 1_000 })
 * console.log(result.throughput, result.latenciesMs.length)
 * pool.close()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const closedLoop = async (options: {
  readonly send: Send
  readonly concurrency: number
  readonly total?: number | undefined
  readonly durationMs?: number | undefined
  readonly warmupMs?: number | undefined
  /**
   * With a duration: the window lasts until at least this many counted requests were answered
   * (default `2 x concurrency`), however long the duration...
   */
  readonly minCounted?: number | undefined
  /** ...but never longer than this (ms from the start; default 120 s). */
  readonly maxMs?: number | undefined
}): Promise<LoadResult> => {
  const { concurrency, send } = options
  const total = options.total ?? Number.POSITIVE_INFINITY
  const durationMs = options.durationMs ?? Number.POSITIVE_INFINITY
  const warmupMs = options.warmupMs ?? 0
  if (!Number.isFinite(total) && !Number.isFinite(durationMs)) {
    throw new RangeError("closedLoop needs a request total or a duration")
  }
  const timed = Number.isFinite(durationMs)
  const minCounted = timed ? options.minCounted ?? 2 * concurrency : 0
  const tally = new Tally()
  let next = 0
  let answered = 0
  const start = performance.now()
  const hardStop = start + (options.maxMs ?? 120_000)
  // warm until `warmupMs` passed and, with a duration, every client was answered once
  const warmupAnswers = timed ? concurrency : 0
  let warm = warmupMs === 0 && warmupAnswers === 0
  let windowStart = warm ? start : Number.NaN
  let deadline = warm ? start + durationMs : Number.POSITIVE_INFINITY
  let cpuStart = warm ? cpuMs() : Number.NaN
  let cpuEnd = Number.NaN
  let lastEnd = start
  const client = async (): Promise<void> => {
    while (next < total) {
      const t0 = performance.now()
      if (!warm && t0 - start >= warmupMs && answered >= warmupAnswers) {
        warm = true
        windowStart = t0
        deadline = t0 + durationMs
        cpuStart = cpuMs()
      }
      if ((t0 >= deadline && tally.ok + tally.rejected + tally.errors >= minCounted) || t0 >= hardStop) {
        if (Number.isNaN(cpuEnd)) cpuEnd = cpuMs()
        return
      }
      const counted = warm
      const i = next++
      const outcome = await safeSend(send, i)
      const t1 = performance.now()
      answered++
      if (counted) {
        tally.add(outcome, t1 - t0)
        if (t1 > lastEnd) lastEnd = t1
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, client))
  const end = Math.max(lastEnd, performance.now())
  if (Number.isNaN(cpuEnd)) cpuEnd = cpuMs()
  const cpu = Number.isNaN(cpuStart) ? 0 : cpuEnd - cpuStart
  const elapsedMs = Number.isNaN(windowStart) ? 0 : end - windowStart
  if (!timed) return finish("closed", tally, 0, elapsedMs, [], cpu)
  const windowMs = Number.isNaN(windowStart) ? 0 : Math.min(end, Math.max(deadline, windowStart)) - windowStart
  return {
    ...finish("closed", tally, 0, windowMs, [], cpu),
    throughput: littlesLaw(tally, concurrency),
    generatorCpuShare: windowMs > 0 ? cpu / windowMs : 0
  }
}

/**
 * Sends request `i` at `start + schedule[i]` (ms), without waiting for earlier answers. Latency is
 * measured from the planned time. Requests planned within the first `warmupMs` are sent but not
 * counted. After the last send, waits at most `drainTimeoutMs` for outstanding answers; the rest
 * count as unanswered errors.
 *
 * @example
 * ```ts
 * import { Arrivals, HttpClient, HttpSend, Load } from "@adabatch/testkit"
 *
 * const port = 8080
 * const pool = HttpClient.makePool("127.0.0.1", port)
 * const send = HttpSend.make(pool, HttpSend.embedRequests(port, "/embed", ["a short text"]))
 * const schedule = Arrivals.poisson({ ratePerSecond: 200, durationMs: 10_000, seed: 1 })
 * const result = await Load.openLoop({ send, schedule, warmupMs: 1_000 })
 * console.log(result.ok, result.rejected, result.unanswered)
 * pool.close()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const openLoop = async (options: {
  readonly send: Send
  readonly schedule: Schedule
  readonly warmupMs?: number | undefined
  readonly drainTimeoutMs?: number | undefined
}): Promise<LoadResult> => {
  const { schedule, send } = options
  const warmupMs = options.warmupMs ?? 0
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000
  const tally = new Tally()
  const lag: Array<number> = []
  const n = schedule.length
  let outstanding = 0
  let counted = 0
  let lastEnd = 0
  const start = performance.now() + 5
  let cpuStart = Number.NaN
  let windowStart = Number.NaN
  let allSent!: () => void
  const sentAll = new Promise<void>((resolve) => {
    allSent = resolve
  })
  let drained: (() => void) | undefined
  let k = 0
  const fire = (i: number, planned: number, now: number) => {
    const measured = schedule[i]! >= warmupMs
    if (measured) {
      if (Number.isNaN(windowStart)) {
        windowStart = planned
        cpuStart = cpuMs()
      }
      counted++
      lag.push(now - planned)
    }
    outstanding++
    void safeSend(send, i).then((outcome) => {
      const t = performance.now()
      outstanding--
      if (measured) {
        tally.add(outcome, t - planned)
        if (t > lastEnd) lastEnd = t
      }
      if (outstanding === 0 && drained !== undefined) drained()
    })
  }
  const pump = () => {
    const now = performance.now()
    while (k < n && start + schedule[k]! <= now) {
      fire(k, start + schedule[k]!, now)
      k++
    }
    if (k >= n) return allSent()
    const wait = start + schedule[k]! - performance.now()
    if (wait < 1) setImmediate(pump)
    else setTimeout(pump, wait - 0.5)
  }
  if (n === 0) allSent()
  else setTimeout(pump, 0)
  await sentAll
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainTimeoutMs)
      drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
  const unanswered = counted - (tally.ok + tally.rejected + tally.errors)
  tally.errors += unanswered
  const planEnd = n === 0 ? start : start + schedule[n - 1]!
  const elapsedMs = Number.isNaN(windowStart) ? 0 : Math.max(lastEnd, planEnd) - windowStart
  const cpu = Number.isNaN(cpuStart) ? 0 : cpuMs() - cpuStart
  return { ...finish("open", tally, unanswered, elapsedMs, lag, cpu), counted }
}

/**
 * Sends `count` requests one after another, each after the previous answered, with `gapMs` of
 * idle time in between (so that each one meets an idle system).
 *
 * @since 0.1.0
 * @category constructors
 */
export const sequential = async (options: {
  readonly send: Send
  readonly count: number
  readonly gapMs?: number | undefined
}): Promise<LoadResult> => {
  const tally = new Tally()
  const gapMs = options.gapMs ?? 0
  const cpu0 = cpuMs()
  const start = performance.now()
  for (let i = 0; i < options.count; i++) {
    if (gapMs > 0 && i > 0) await new Promise((r) => setTimeout(r, gapMs))
    const t0 = performance.now()
    const outcome = await safeSend(options.send, i)
    tally.add(outcome, performance.now() - t0)
  }
  return finish("sequential", tally, 0, performance.now() - start, [], cpuMs() - cpu0)
}

/**
 * Successful requests per second of a closed loop with `concurrency` always-busy clients, by
 * Little's law: `concurrency / mean latency` (all outcomes), times the success share.
 *
 * @since 0.1.0
 * @category utils
 */
export const littlesLaw = (
  tally: { readonly ok: number; readonly rejected: number; readonly errors: number; readonly allLatencySum: number },
  concurrency: number
): number => {
  const n = tally.ok + tally.rejected + tally.errors
  if (n === 0 || tally.allLatencySum <= 0) return 0
  return ((concurrency * 1000) / (tally.allLatencySum / n)) * (tally.ok / n)
}

const finish = (
  mode: LoadResult["mode"],
  tally: Tally,
  unanswered: number,
  elapsedMs: number,
  lagMs: Array<number>,
  cpu: number
): LoadResult => ({
  mode,
  counted: tally.ok + tally.rejected + tally.errors,
  ok: tally.ok,
  rejected: tally.rejected,
  errors: tally.errors,
  unanswered,
  elapsedMs,
  throughput: elapsedMs > 0 ? (tally.ok * 1000) / elapsedMs : 0,
  latenciesMs: tally.latencies,
  lagMs,
  generatorCpuShare: elapsedMs > 0 ? cpu / elapsedMs : 0
})
