/**
 * The search behind the adaptive batch-size policy: which rung of a ladder of limits (item caps
 * or padded-token budgets) gives the most work per second. Pure state, no Effect: the policy
 * feeds it one observation per finished batch and reads the limit in force.
 *
 * **What it maximises, with several workers.** Each batch reports its own duration, on its own
 * worker. What counts is the aggregate rate, work per second of wall time over all the workers.
 * When every worker is kept busy (the engine shares queued work among free workers, so none idles
 * while another holds a large batch), the aggregate rate is the number of workers times the rate
 * of one batch, `work / duration`: the best limit is the one whose batches have the highest
 * rate. It is not the limit whose batches are biggest: with 256 callers and 4 workers, batches of
 * 64 keep all four busy, batches of 128 only two. And it is not the size that happens to form
 * either: a closed loop of 256 callers on 4 workers forms batches of 64 whatever the limit above
 * 64, although batches of 8 may go faster; a smaller batch leaves inputs queued, and the next
 * worker to free takes them. So the search probes limits **below** the sizes that form, not only
 * above the limit in force.
 *
 * **How.**
 * - Every batch updates the estimate (moving mean and variance of `work / duration`, mean
 *   duration) of the rung nearest its actual amount (cost or size), whatever limit it formed
 *   under: a batch is a measurement of its own size. Batches still running when the limit changed
 *   (they overlap with several workers) are not counted as measurements of the new limit.
 * - At home (the limit in force), every `minSamples` batches formed under it make a window. Its
 *   realized rung `R` is where the batches landed (below the limit when demand or the item cap
 *   bounded them). After a window the search may start a probe:
 *   - **up**, to `limit + d` rungs, when the batches were capped at the limit (more work waited
 *     and the limit was what stopped them), and the longer batch would fit the latency target;
 *   - **down**, to `R - d` rungs, to find out whether smaller batches go faster.
 * - A probe runs the new limit for `minSamples` to `maxSamples` batches, and compares their mean
 *   rate with the home estimate: a gain larger than `z` standard errors (and than `tolerance`)
 *   moves home there; a loss of `z` standard errors ends it; neither by `maxSamples` is a tie.
 * - After a loss the next probe that way waits twice as many windows as the last (up to
 *   `maxBackoff`): on a settled load, probing costs a vanishing share of the time. After a tie
 *   the next probe that way goes twice as far (`d` = 1, 2, 4 rungs), so a plateau does not hide
 *   the optimum behind it. After a win, probing goes on that way at once.
 * - When the load or the inputs change (the realized rung moves by two rungs or more, the mean
 *   item cost by half or more, the rate of the realized rung by a quarter or more), the back-off
 *   and distances reset, so the search re-explores at once: it converges in a few probes after
 *   short inputs follow long ones, or 256 callers follow 16.
 * - A rung whose mean batch duration exceeds the latency target is left for the one below.
 *
 * Ties keep the limit in force, so a light load (batches smaller than the limit) leaves the limit
 * where it is: the limit only binds when work piles up.
 *
 * @since 0.1.0
 */

/**
 * Settings of the search.
 *
 * @since 0.1.0
 * @category models
 */
export interface SearchOptions {
  /** The ladder of limits, increasing. */
  readonly steps: ReadonlyArray<number>
  /** Index of the first limit in force. */
  readonly initial: number
  /** A batch may take at most this long (ms). */
  readonly targetLatencyMs: number
  /** Batches per window and the fewest per probe (default 8). */
  readonly minSamples?: number | undefined
  /** The most batches per probe (default 32). */
  readonly maxSamples?: number | undefined
  /** Standard errors that make a difference significant (default 2). */
  readonly z?: number | undefined
  /** Smallest relative gain worth a move (default 0.01). */
  readonly tolerance?: number | undefined
  /** The longest wait between probes one way, in windows (default 256). */
  readonly maxBackoff?: number | undefined
}

/**
 * One finished batch.
 *
 * @since 0.1.0
 * @category models
 */
export interface Observation {
  /** The batch's amount in the ladder's unit (its cost, or its size). */
  readonly amount: number
  /** Useful work in it (sum of item costs, or the size). */
  readonly work: number
  readonly size: number
  readonly durationMs: number
  /** How long its worker sat idle before it started (ms). */
  readonly idleMs: number
  /** More work was waiting when it closed. */
  readonly capped: boolean
  /** Every other worker was busy when it formed (several workers). */
  readonly othersBusy: boolean
  /** The ladder index of the limit it formed under; `undefined`: the one in force now. */
  readonly formedUnder?: number | undefined
}

/** Moving means of one rung (EWMA with a 1/n start): rate and batch duration. */
class Estimate {
  rate = 0
  durationMs = 0
  n = 0
  add(x: number, durationMs: number) {
    const a = Math.max(1 / (this.n + 1), 1 / 16)
    this.rate += a * (x - this.rate)
    this.durationMs += a * (durationMs - this.durationMs)
    this.n++
  }
}

/** One batch's rate and amount. */
interface Sample {
  readonly rate: number
  readonly amount: number
}

/** Count, mean rate and its standard error of the samples that `keep` selects. */
const stats = (samples: ReadonlyArray<Sample>, keep: (s: Sample) => boolean) => {
  let n = 0
  let sum = 0
  let sum2 = 0
  for (const s of samples) {
    if (!keep(s)) continue
    n++
    sum += s.rate
    sum2 += s.rate * s.rate
  }
  const mean = n > 0 ? sum / n : 0
  const se = n > 1 ? Math.sqrt(Math.max(0, sum2 / n - mean * mean) / (n - 1)) : Infinity
  return { n, mean, se }
}

const all = () => true

/** The last `size` batches of the home limit. */
class Recent {
  readonly samples: Array<Sample> = []
  private next = 0
  constructor(private readonly size: number) {}
  get n() {
    return this.samples.length
  }
  add(s: Sample) {
    if (this.samples.length < this.size) this.samples.push(s)
    else this.samples[this.next] = s
    this.next = (this.next + 1) % this.size
  }
  reset() {
    this.samples.length = 0
    this.next = 0
  }
}

/** Batches formed under one limit since the last decision. */
class Window {
  readonly samples: Array<Sample> = []
  sumAmount = 0
  maxAmount = 0
  capped = 0
  /** Batches formed under load: capped, or every other worker busy. */
  loaded = 0
  itemCost = 0
  busyMs = 0
  idleMs = 0
  get n() {
    return this.samples.length
  }
  add(s: Sample, o: Observation) {
    this.samples.push(s)
    this.sumAmount += o.amount
    if (o.amount > this.maxAmount) this.maxAmount = o.amount
    if (o.capped) this.capped++
    if (o.capped || o.othersBusy) this.loaded++
    this.itemCost += o.work / Math.max(o.size, 1)
    this.busyMs += o.durationMs
    this.idleMs += Math.max(0, o.idleMs)
  }
  mean() {
    return stats(this.samples, all).mean
  }
  /** The workers were busy before these batches (idle under a tenth of the busy time). */
  busy() {
    return this.idleMs <= 0.1 * this.busyMs
  }
  /** Mean amount: a limit there evens out uneven batches. */
  amount() {
    return this.sumAmount / this.n
  }
  reset() {
    this.samples.length = 0
    this.sumAmount =
      this.maxAmount =
      this.capped =
      this.loaded =
      this.itemCost =
        0
    this.busyMs = this.idleMs = 0
  }
}

interface Probe {
  readonly dir: 1 | -1
  /** Rungs from the limit (up) or from the realized rung (down) to the probe. */
  readonly distance: number
  /** Rung the home batches landed on. */
  readonly baseRung: number
}

/** Per-direction exploration state. */
interface Direction {
  /** Windows to wait before the next probe. */
  wait: number
  /** The last back-off length (doubles after each loss). */
  backoff: number
  /** Rungs to go (up: 1, 2, 4, ... above the limit; down: 0, 1, 2, 4, ... below the realized rung). */
  distance: number
}

/**
 * The search's state, for `/info`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SearchState {
  /** Index of the limit in force. */
  readonly limit: number
  /** Index the search returns to after a probe (= `limit` when not probing). */
  readonly home: number
  readonly probing: boolean
  /** Rate (work per ms) of the home limit's batches, idle time included. */
  readonly ratePerMs: number
  /** Mean duration of the batches at the rung they land on. */
  readonly durationMs: number
  readonly decisions: number
}

/**
 * The search.
 *
 * @since 0.1.0
 * @category models
 */
export interface Search {
  /** Index of the limit in force. */
  readonly limit: () => number
  readonly observe: (observation: Observation) => void
  readonly state: () => SearchState
}

/**
 * Index of the ladder rung nearest `x` (in log scale).
 *
 * @since 0.1.0
 * @category utils
 */
export const nearest = (steps: ReadonlyArray<number>, x: number): number => {
  const lx = Math.log(Math.max(x, 1e-9))
  let best = 0
  let bestD = Infinity
  for (let i = 0; i < steps.length; i++) {
    const d = Math.abs(Math.log(steps[i]!) - lx)
    if (d < bestD) {
      bestD = d
      best = i
    }
  }
  return best
}

/**
 * The rate a batch achieved for its worker: its work over its duration plus the idle time before
 * it (counted up to 4 durations: longer idling says there was no demand, not that the limit was
 * wrong), in work per ms.
 *
 * @since 0.1.0
 * @category utils
 */
export const rate = (o: Observation): number => {
  const d = Math.max(o.durationMs, 1e-3)
  return o.work / (d + Math.min(Math.max(0, o.idleMs), 4 * d))
}

/** A running search: its state and its steps (see the module comment). */
class Searching {
  readonly steps: ReadonlyArray<number>
  readonly top: number
  readonly minSamples: number
  readonly maxSamples: number
  readonly z: number
  readonly tolerance: number
  readonly maxBackoff: number
  readonly target: number
  readonly estimates: Array<Estimate>
  readonly homeRates = new Recent(64)
  readonly window = new Window()
  readonly up: Direction = { wait: 0, backoff: 1, distance: 1 }
  readonly down: Direction = { wait: 0, backoff: 1, distance: 0 }
  limit: number
  home: number
  probe: Probe | undefined
  decisions = 0
  /** Moving mean of the windows' log amounts. */
  level = Number.NaN
  itemCost = Number.NaN

  constructor(options: SearchOptions) {
    this.steps = options.steps
    this.top = this.steps.length - 1
    this.minSamples = Math.max(2, options.minSamples ?? 8)
    this.maxSamples = Math.max(this.minSamples, options.maxSamples ?? 128)
    this.z = options.z ?? 2.4
    this.tolerance = options.tolerance ?? 0.01
    this.maxBackoff = options.maxBackoff ?? 256
    this.target = options.targetLatencyMs
    this.estimates = this.steps.map(() => new Estimate())
    this.limit = Math.min(this.top, Math.max(0, options.initial))
    this.home = this.limit
  }

  /** Explore again at once, from the nearest distances. */
  explore() {
    const { down, up } = this
    up.wait = down.wait = 0
    up.backoff = down.backoff = 1
    up.distance = 1
    down.distance = 0
  }

  /** The load or the inputs changed (batch amounts by 2.5x, item cost by 1.5x): explore again. */
  detectShift() {
    const window = this.window
    const l = Math.log(window.amount())
    const c = window.itemCost / window.n
    if (Math.abs(l - this.level) > Math.log(2.5) || Math.abs(Math.log(c / this.itemCost)) > Math.log(1.5)) {
      this.explore()
      this.level = l
    } else {
      this.level = Number.isNaN(this.level) ? l : this.level + 0.25 * (l - this.level)
    }
    this.itemCost = c
  }

  moveTo(i: number) {
    this.limit = i
    this.window.reset()
  }

  /** A new home, not measured yet. */
  settle(i: number) {
    this.home = i
    this.homeRates.reset()
    this.moveTo(i)
  }

  atHome() {
    const { down, estimates, steps, target, top, up, window } = this
    const limit = this.limit
    this.decisions++
    this.detectShift()
    const rung = nearest(steps, window.amount())
    const durationMs = estimates[rung]!.durationMs
    if (durationMs > target && rung > 0) {
      // the largest rung whose batches would fit the target, the duration taken as proportional
      let fit = rung - 1
      while (fit > 0 && durationMs * (steps[fit]! / steps[rung]!) > target) fit--
      return this.settle(Math.min(limit, fit))
    }
    // the batches were stopped by the limit (one rung of slack: costs come in whole inputs)
    const binding = rung >= limit - 1 && window.capped * 2 >= window.n
    const upTo = Math.min(top, limit + up.distance)
    const fits = estimates[rung]!.durationMs * (steps[upTo]! / steps[rung]!) <= target
    if (binding && limit < top && up.wait <= 0 && fits) return this.startProbe(1, upTo, upTo - limit, rung)
    // down: `distance` rungs below the realized rung, under load (work was left waiting, or every
    // other worker was busy: a smaller limit leaves more work for the next worker to free, which
    // pays only if none idles); or at the
    // realized rung (distance 0) when workers idled while work was there: a limit at the
    // batches' size evens them out and ends waits to fill bigger ones
    const distance = Math.max(down.distance, rung < limit ? 0 : 1)
    const loaded = window.loaded * 2 >= window.n
    const evening = distance === 0 && !window.busy()
    if ((loaded || evening) && rung - distance >= 0 && down.wait <= 0) {
      return this.startProbe(-1, rung - distance, distance, rung)
    }
    up.wait--
    down.wait--
    window.reset()
  }

  startProbe(dir: 1 | -1, to: number, distance: number, rung: number) {
    this.probe = { dir, distance, baseRung: rung }
    this.moveTo(to)
  }

  endProbe(p: Probe, outcome: "win" | "loss" | "tie" | "none") {
    const { down, up } = this
    this.decisions++
    this.probe = undefined
    const d = p.dir === 1 ? up : down
    const nearestDistance = p.dir === 1 ? 1 : 0
    if (outcome === "win") {
      // keep going that way at once, twice as far: the probe's batches are the new home's first
      // window (a change of inputs can move the best limit by many rungs)
      d.wait = 0
      d.distance = Math.max(1, p.distance * 2)
      const other = p.dir === 1 ? down : up
      other.wait = other.backoff
      other.distance = p.dir === 1 ? 0 : 1
      this.home = this.limit
      this.homeRates.reset()
      for (const x of this.window.samples) this.homeRates.add(x)
      this.level = Number.NaN
      return this.atHome()
    }
    const next = Math.max(1, p.distance * 2)
    const wider = p.dir === 1 ? this.home + next <= this.top : p.baseRung - next >= 0
    if (outcome === "tie" && wider) {
      d.distance = next
      d.wait = 0
    } else {
      d.distance = nearestDistance
      d.backoff = Math.min(this.maxBackoff, d.backoff * 2)
      d.wait = d.backoff
    }
    this.moveTo(this.home)
  }

  inProbe(p: Probe) {
    const { maxSamples, minSamples, steps, window } = this
    // looks at minSamples, then at every doubling, up to maxSamples: a test at every batch would
    // find a "significant" difference by chance far more often than z suggests
    const n = window.n
    // a down probe only moves on a significant gain: no use running it long
    const most = p.dir === 1 ? maxSamples : Math.min(maxSamples, 8 * minSamples)
    const look = n % minSamples === 0 && ((n / minSamples) & (n / minSamples - 1)) === 0
    if (n < minSamples || (n < most && !look)) return
    // an up probe whose batches never outgrew the home limit: demand, not the limit, bounds them
    if (p.dir === 1 && window.maxAmount <= steps[this.home]!) return this.endProbe(p, "none")
    // a down probe that ran mostly without load: the rate measured the demand, not what the
    // limit can do
    if (p.dir === -1 && window.loaded * 2 < window.n) return this.endProbe(p, "none")
    // like with like: the batches the probe's limit changed against those of home it would
    // change (down: home batches above the probe's limit, probe batches at it; up: home batches
    // at the home limit, probe batches above it). Under load that is every batch; at a lighter
    // load the smaller batches that demand alone sized would only blur the difference.
    const cut = steps[this.limit]!
    const cap = steps[this.home]!
    const [homeKeep, probeKeep] = p.dir === 1
      ? [(s: Sample) => s.amount > cap / Math.SQRT2, (s: Sample) => s.amount > cap]
      : p.distance === 0
      ? [all, all]
      : [(s: Sample) => s.amount > cut, (s: Sample) => s.amount > cut / Math.SQRT2]
    const b = stats(this.homeRates.samples, homeKeep)
    const w = stats(window.samples, probeKeep)
    if (b.n < minSamples / 2 || w.n < minSamples / 2) return n >= 2 * minSamples ? this.endProbe(p, "none") : undefined
    const gain = w.mean / b.mean - 1
    const se = Math.sqrt(w.se ** 2 + b.se ** 2) / b.mean
    if (gain > this.z * se && gain > this.tolerance) return this.endProbe(p, "win")
    if (gain < -this.z * se) return this.endProbe(p, "loss")
    // not better so far: no reason to go on. At least as good: going on costs nothing and
    // resolves small gains (a few % on a gentle slope). After maxSamples a larger limit is as
    // good a home (it costs nothing at a light load); a smaller one is not (it would)
    if (gain <= 0) return this.endProbe(p, "tie")
    if (n >= most) this.endProbe(p, p.dir === 1 ? "win" : "tie")
  }

  observe(o: Observation) {
    if (!(o.durationMs >= 0) || o.size <= 0) return
    const x = rate(o)
    this.estimates[nearest(this.steps, o.amount)]!.add(x, o.durationMs)
    const under = o.formedUnder ?? this.limit
    const sample = { rate: x, amount: o.amount }
    if (under === this.home) this.homeRates.add(sample)
    if (under !== this.limit) return
    this.window.add(sample, o)
    if (this.probe !== undefined) this.inProbe(this.probe)
    else if (this.window.n >= this.minSamples) this.atHome()
  }
}

/**
 * Creates a search.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: SearchOptions): Search => {
  const s = new Searching(options)
  return {
    limit: () => s.limit,
    observe: (o) => s.observe(o),
    state: () => ({
      limit: s.limit,
      home: s.home,
      probing: s.probe !== undefined,
      ratePerMs: stats(s.homeRates.samples, all).mean,
      durationMs: s.estimates[Number.isNaN(s.level) ? s.limit : nearest(s.steps, Math.exp(s.level))]!.durationMs,
      decisions: s.decisions
    })
  }
}
