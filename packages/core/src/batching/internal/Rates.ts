/**
 * The engine's estimates: arrival rates (all arrivals, and the fresh ones that can fill a waiting
 * batch), the drain rate, the recent batch duration, and the throughput measured while saturated.
 *
 * @since 0.1.0
 * @internal
 */

/**
 * Arrivals within this many ms of a batch's completion count as callers answered by it sending
 * their next request (a closed loop): they do not arrive while every worker is busy.
 */
const ECHO_MS = 2

/**
 * Moving estimates of what arrives and what leaves. Plain mutable state, updated by the engine.
 *
 * @internal
 */
export class Rates {
  arrivals = 0
  rateAt: number
  rateArrivals = 0
  /** Recent arrival rate (items per ms). */
  ratePerMs = 0
  // Arrivals that did not come right after a batch completed (an answered caller sending its
  // next request), and their rate: only those can fill a waiting batch before a worker frees.
  freshArrivals = 0
  rateFresh = 0
  freshPerMs = 0
  lastCompletionAt = Number.NEGATIVE_INFINITY
  drainPerMs = 0
  drainAt: number
  drained = 0
  /** Recent mean batch duration (ms), 0 when unknown. */
  batchDurationMs = 0
  /**
   * Inputs per ms the engine dispatches while saturated: over consecutive capped batches (each
   * formed from a queue holding more than a batch, when a worker freed), inputs dispatched per ms
   * between dispatches, gaps included (moving averages of both): `saturatedItems / saturatedGapMs`.
   * 0 = not measured yet.
   */
  saturatedItems = 0
  saturatedGapMs = 0
  lastDispatchAt = 0
  lastDispatchCapped = false

  constructor(now: number) {
    this.rateAt = now
    this.drainAt = now
  }

  /** Counts `n` arrivals at `now`. */
  arrive(n: number, now: number) {
    this.arrivals += n
    if (now - this.lastCompletionAt > ECHO_MS) this.freshArrivals += n
  }

  /** Brings the moving rates up to `now`. */
  update(now: number) {
    const dt = now - this.rateAt
    if (dt >= 1) {
      const a = 1 - Math.exp(-dt / 250)
      this.ratePerMs += a * ((this.arrivals - this.rateArrivals) / dt - this.ratePerMs)
      this.freshPerMs += a * ((this.freshArrivals - this.rateFresh) / dt - this.freshPerMs)
      this.rateAt = now
      this.rateArrivals = this.arrivals
      this.rateFresh = this.freshArrivals
    }
    const dd = now - this.drainAt
    if (dd >= 1) {
      const a = 1 - Math.exp(-dd / 1000)
      this.drainPerMs += a * (this.drained / dd - this.drainPerMs)
      this.drainAt = now
      this.drained = 0
    }
  }

  /** A batch of `n` inputs dispatched at `start`; `capped`: it was full at a cap. */
  dispatched(n: number, capped: boolean, start: number) {
    if (capped && this.lastDispatchCapped && start > this.lastDispatchAt) {
      const gap = start - this.lastDispatchAt
      this.saturatedItems = this.saturatedItems === 0 ? n : this.saturatedItems + 0.2 * (n - this.saturatedItems)
      this.saturatedGapMs = this.saturatedGapMs === 0 ? gap : this.saturatedGapMs + 0.2 * (gap - this.saturatedGapMs)
    }
    this.lastDispatchAt = start
    this.lastDispatchCapped = capped
    this.drained += n
  }

  /** A batch ran `durationMs`. */
  ran(durationMs: number) {
    this.batchDurationMs = this.batchDurationMs === 0
      ? durationMs
      : this.batchDurationMs + 0.2 * (durationMs - this.batchDurationMs)
  }
}
