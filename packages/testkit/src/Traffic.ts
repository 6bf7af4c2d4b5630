/**
 * Load phases of the reliability suite: a closed loop (a fixed number of clients, each sending its
 * next request when the previous one is answered) to measure capacity, and an open loop (requests
 * at a fixed rate, whatever the answers) to overload. Both are bounded by a request cap and a time
 * cap and stop by themselves.
 *
 * Unlike `Load` (the benchmarks' measurements: outcomes reduced to ok / rejected / error, a
 * warm-up, latency from the planned send time), a phase keeps every HTTP outcome: a `Tally` of
 * statuses and connection errors, so that a test can check that every request sent got exactly
 * one answer, and (with `keep`) the outcomes themselves. Its open loop also skips a request when
 * `send` cannot send now (every pooled connection busy) instead of queueing it in the client.
 *
 * @since 0.1.0
 */
import type { Outcome } from "./Client.js"
import { sleep, Tally } from "./Client.js"

/**
 * The result of a load phase.
 *
 * @since 0.1.0
 */
export interface LoadResult {
  readonly tally: Tally
  /** How long requests were being sent (open loop: the load's duration). */
  readonly sendingMs: number
  /** From the first request sent to the last answer. */
  readonly totalMs: number
  /** Requests sent per second while sending. */
  readonly offeredPerSecond: number
  /** Latencies of the answers with status 200, ms. */
  readonly okLatencies: Array<number>
  /** Every outcome, in completion order (only when `keep` was set). */
  readonly outcomes: Array<Outcome>
}

/**
 * `clients` concurrent loops, each sending `make(i)` and waiting for its answer, for `durationMs`
 * or `maxRequests` requests, whichever comes first.
 *
 * @example
 * ```ts
 * import { Client, Traffic } from "@adabatch/testkit"
 *
 * const via = Client.agent(8)
 * const phase = await Traffic.closedLoop({
 *   clients: 8,
 *   durationMs: 5_000,
 *   maxRequests: 10_000,
 *   send: () => Client.send(8080, { path: "/embed", body: { inputs: "hello" } }, via)
 * })
 * console.log(phase.tally.statuses(), phase.tally.errorsByCode())
 * ```
 *
 * @since 0.1.0
 */
export const closedLoop = async (options: {
  readonly clients: number
  readonly durationMs: number
  readonly maxRequests: number
  readonly send: (i: number) => Promise<Outcome>
  readonly keep?: boolean | undefined
}): Promise<LoadResult> => {
  const tally = new Tally()
  const okLatencies: Array<number> = []
  const outcomes: Array<Outcome> = []
  const start = performance.now()
  let next = 0
  let lastSent = start
  const loop = async () => {
    while (performance.now() - start < options.durationMs && next < options.maxRequests) {
      const i = next++
      tally.start()
      lastSent = performance.now()
      const outcome = await options.send(i)
      tally.add(outcome)
      if (outcome.status === 200) okLatencies.push(outcome.latencyMs)
      if (options.keep === true) outcomes.push(outcome)
    }
  }
  await Promise.all(Array.from({ length: options.clients }, loop))
  const end = performance.now()
  return {
    tally,
    sendingMs: lastSent - start,
    totalMs: end - start,
    offeredPerSecond: tally.sent / ((lastSent - start) / 1000 || 1),
    okLatencies,
    outcomes
  }
}

/**
 * Sends request `i` at `rate` requests per second for `durationMs` (at most `maxRequests`), without
 * waiting for answers, then waits for every answer (each request has its own client timeout, so
 * this ends). `send` returns `undefined` when it cannot send now (every pooled connection busy):
 * that request is not sent and is counted in `skipped`.
 *
 * @since 0.1.0
 */
export const openLoop = async (options: {
  readonly rate: number
  readonly durationMs: number
  readonly maxRequests: number
  readonly send: (i: number) => Promise<Outcome> | undefined
  readonly keep?: boolean | undefined
  /** Called about every 100 ms while sending (e.g. to sample memory). */
  readonly onTick?: (() => void) | undefined
  /** Called once sending stops, before the outstanding answers are awaited. */
  readonly onSendingDone?: (() => void) | undefined
}): Promise<LoadResult & { readonly skipped: number; readonly peakInFlight: number }> => {
  const tally = new Tally()
  const okLatencies: Array<number> = []
  const outcomes: Array<Outcome> = []
  const pending = new Set<Promise<void>>()
  let skipped = 0
  let peakInFlight = 0
  let i = 0
  const start = performance.now()
  let lastTick = start
  for (;;) {
    const now = performance.now()
    const elapsed = now - start
    if (elapsed >= options.durationMs || i + skipped >= options.maxRequests) break
    const due = Math.min(options.maxRequests, Math.floor((elapsed * options.rate) / 1000) + 1)
    while (i + skipped < due) {
      const sent = options.send(i)
      if (sent === undefined) {
        skipped++
        continue
      }
      i++
      tally.start()
      const p: Promise<void> = sent.then((outcome) => {
        tally.add(outcome)
        if (outcome.status === 200) okLatencies.push(outcome.latencyMs)
        if (options.keep === true) outcomes.push(outcome)
        pending.delete(p)
      })
      pending.add(p)
      if (pending.size > peakInFlight) peakInFlight = pending.size
    }
    if (options.onTick !== undefined && now - lastTick >= 100) {
      lastTick = now
      options.onTick()
    }
    await sleep(2)
  }
  // the load lasted until the loop stopped, even if the last requests could not be sent
  const sendingMs = performance.now() - start
  options.onSendingDone?.()
  while (pending.size > 0) await Promise.all([...pending])
  const end = performance.now()
  return {
    tally,
    sendingMs,
    totalMs: end - start,
    offeredPerSecond: tally.sent / (sendingMs / 1000 || 1),
    okLatencies,
    outcomes,
    skipped,
    peakInFlight
  }
}
