/**
 * A budget of request-body bytes held at once, over all requests (`ADABATCH_MAX_INFLIGHT_BYTES`).
 *
 * The concurrent-request limit counts requests, not bytes: 512 requests of 2 MB each hold a
 * gigabyte. Each request takes a `Reservation` before its body is read (its `Content-Length`,
 * when it has one) and grows it as bytes arrive beyond that (chunked bodies, decoded bodies); a
 * reservation that would take the total over the budget is refused, and the request gets 429. A
 * reservation is held until the request has its answer (the parsed texts live until then).
 *
 * @since 0.1.0
 */

/**
 * One request's share of the budget.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reservation {
  /** Bytes held. */
  readonly held: number
  /** Grows the reservation to `total` bytes (never shrinks it); `false` if that would exceed the budget. */
  readonly grow: (total: number) => boolean
  /** Gives the bytes back (once; later calls do nothing). */
  readonly release: () => void
}

/**
 * The budget.
 *
 * @since 0.1.0
 * @category models
 */
export class InflightBytes {
  /** Bytes reserved by requests now. */
  used = 0
  /** The most bytes ever reserved at once. */
  peak = 0

  constructor(readonly budget: number) {}

  /** A reservation of `initial` bytes, or `undefined` if they do not fit. */
  reserve(initial: number): Reservation | undefined {
    if (this.used + initial > this.budget) return undefined
    this.add(initial)
    let held = initial
    let released = false
    return {
      get held() {
        return held
      },
      grow: (total) => {
        if (released || total <= held) return true
        if (this.used + total - held > this.budget) return false
        this.add(total - held)
        held = total
        return true
      },
      release: () => {
        if (released) return
        released = true
        this.used -= held
      }
    }
  }

  private add(bytes: number): void {
    this.used += bytes
    if (this.used > this.peak) this.peak = this.used
  }
}
