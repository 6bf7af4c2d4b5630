/**
 * Choosing a worker layout (workers x intra-op threads) from measured candidates: the layouts to
 * try on a number of cores, and the rule that picks one.
 *
 * The rule: among the candidates whose workers fit in memory, keep those whose idle latency (one
 * input, every worker idle) is within `latencyTolerance` (1.5x) of the fastest candidate's; of
 * those, take the highest throughput at saturation. Throughput is scored over the measured
 * shapes (short and long inputs) as the geometric mean of each shape's items/s relative to the
 * best candidate's, so a layout has to be good at both to win.
 *
 * @since 0.1.0
 */

/**
 * A worker layout.
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout {
  readonly workers: number
  readonly threads: number
}

/**
 * What the calibration measured for one candidate layout, all its workers running at once.
 *
 * @since 0.1.0
 * @category models
 */
export interface Figures extends Layout {
  /** Items/s of all workers together on short inputs. */
  readonly shortItemsPerSecond: number
  /** Items/s of all workers together on long inputs. */
  readonly longItemsPerSecond: number
  /** Median time of one single-input batch while every worker is idle, in ms. */
  readonly idleMs: number
  /** How much the process's RSS grew while the layout's workers were built and warmed, in bytes. */
  readonly rssGrowthBytes: number
}

/**
 * One candidate as the rule saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Judged extends Figures {
  /** Geometric mean of the short and long items/s relative to the best candidate's (1 = best at both). */
  readonly score: number
  /** Why it was not chosen when it was ruled out (latency or memory); `undefined` when it competed. */
  readonly excluded: string | undefined
}

/**
 * The outcome of the rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface Choice extends Layout {
  readonly candidates: ReadonlyArray<Judged>
  /** One sentence: what was chosen, from what, and why. */
  readonly reason: string
}

/**
 * The constraints of the rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChoiceOptions {
  /** Memory the workers may take in all, in bytes (`undefined`: no cap). */
  readonly memoryBudgetBytes: number | undefined
  /** Memory one worker takes, in bytes (`undefined`: unknown, no cap). */
  readonly memoryPerWorkerBytes: number | undefined
  /** Idle latency allowed relative to the fastest candidate's (default 1.5). */
  readonly latencyTolerance?: number | undefined
}

/**
 * Most candidates measured on one machine (each costs a model load and a few batches).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_CANDIDATES = 6

/**
 * The layouts worth measuring on `cores` usable cores: every `w x cores/w` for the divisors `w` of
 * `cores` (so each layout keeps all cores busy), at most `maxWorkers` workers; with more than
 * `MAX_CANDIDATES` divisors, a spread of them (always `1 x cores` and `cores x 1`). When
 * `maxWorkers` is not a divisor but below `cores`, `maxWorkers x floor(cores / maxWorkers)` is
 * added: the most workers that fit.
 *
 * @since 0.1.0
 * @category candidates
 */
export const candidates = (cores: number, maxWorkers = cores): ReadonlyArray<Layout> => {
  const n = Math.max(1, Math.floor(cores))
  const cap = Math.max(1, Math.min(n, Math.floor(maxWorkers)))
  let workers: Array<number> = []
  for (let w = 1; w <= cap; w++) if (n % w === 0) workers.push(w)
  if (cap < n && !workers.includes(cap)) workers.push(cap)
  while (workers.length > MAX_CANDIDATES) {
    // drop the inner candidate closest (in ratio) to its neighbours
    let drop = 1
    let closest = Number.POSITIVE_INFINITY
    for (let i = 1; i < workers.length - 1; i++) {
      const gap = Math.log(workers[i + 1]! / workers[i - 1]!)
      if (gap < closest) {
        closest = gap
        drop = i
      }
    }
    workers = workers.filter((_, i) => i !== drop)
  }
  return workers.map((w) => ({ workers: w, threads: Math.max(1, Math.floor(n / w)) }))
}

/**
 * `"4 x 3"`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const label = (layout: Layout): string => `${layout.workers} x ${layout.threads}`

const MiB = 1024 * 1024
const fixed = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : "n/a"
const rate = (x: number) => Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toPrecision(3)) : "n/a"

/**
 * The most workers `options` lets run at once (`Infinity` without a cap, at least 1).
 *
 * @since 0.1.0
 * @category choice
 */
export const maxWorkersFor = (options: ChoiceOptions): number =>
  options.memoryBudgetBytes === undefined || options.memoryPerWorkerBytes === undefined ||
    options.memoryPerWorkerBytes <= 0
    ? Number.POSITIVE_INFINITY
    : Math.max(1, Math.floor(options.memoryBudgetBytes / options.memoryPerWorkerBytes))

const scoreAll = (figures: ReadonlyArray<Figures>): Array<number> => {
  const best = (f: (x: Figures) => number) => Math.max(...figures.map(f).filter((x) => Number.isFinite(x) && x > 0))
  const bestShort = best((x) => x.shortItemsPerSecond)
  const bestLong = best((x) => x.longItemsPerSecond)
  return figures.map((x) => {
    const s = x.shortItemsPerSecond > 0 ? x.shortItemsPerSecond / bestShort : 0
    const l = x.longItemsPerSecond > 0 ? x.longItemsPerSecond / bestLong : 0
    return Math.sqrt(s * l)
  })
}

/**
 * Applies the rule to the measured candidates (at least one). Candidates over the memory cap are
 * ruled out (unless none fits: then the one with the fewest workers stays); then those whose
 * idle latency is over `latencyTolerance` x the fastest remaining one's; the best score wins (on
 * a tie, fewer workers).
 *
 * @since 0.1.0
 * @category choice
 */
export const choose = (figures: ReadonlyArray<Figures>, options: ChoiceOptions): Choice => {
  if (figures.length === 0) throw new Error("LayoutChoice.choose needs at least one candidate")
  const tolerance = options.latencyTolerance ?? 1.5
  const maxWorkers = maxWorkersFor(options)
  const fewest = Math.min(...figures.map((f) => f.workers))
  const fits = (f: Figures) => f.workers <= maxWorkers || f.workers === fewest
  const fastestIdle = Math.min(...figures.filter(fits).map((f) => f.idleMs))
  const scores = scoreAll(figures.filter(fits))
  const judged: Array<Judged> = []
  let k = 0
  for (const f of figures) {
    if (!fits(f)) {
      const per = (options.memoryPerWorkerBytes ?? 0) / MiB
      judged.push({
        ...f,
        score: 0,
        excluded: `memory: ${f.workers} x ${fixed(per, 0)} MiB > ${
          fixed((options.memoryBudgetBytes ?? 0) / MiB, 0)
        } MiB`
      })
      continue
    }
    const score = scores[k++]!
    const ratio = f.idleMs / fastestIdle
    judged.push({
      ...f,
      score,
      excluded: ratio > tolerance ? `idle latency ${fixed(f.idleMs, 2)} ms, ${fixed(ratio, 2)}x the fastest` : undefined
    })
  }
  let chosen: Judged | undefined
  for (const j of judged) {
    if (j.excluded !== undefined) continue
    if (chosen === undefined || j.score > chosen.score || (j.score === chosen.score && j.workers < chosen.workers)) {
      chosen = j
    }
  }
  // the fastest-idle candidate always competes, so `chosen` is set; keep the type checker sure
  const winner = chosen ?? judged.find((j) => j.workers === fewest)!
  return {
    workers: winner.workers,
    threads: winner.threads,
    candidates: judged,
    reason: reasonFor(winner, judged, tolerance)
  }
}

const reasonFor = (winner: Judged, judged: ReadonlyArray<Judged>, tolerance: number): string => {
  const fastest = judged.filter((j) => !j.excluded?.startsWith("memory")).reduce((
    a,
    b
  ) => (b.idleMs < a.idleMs ? b : a))
  const competing = judged.filter((j) => j.excluded === undefined)
  const parts = [
    `${label(winner)}: highest throughput (short ${rate(winner.shortItemsPerSecond)} items/s, long ` +
    `${rate(winner.longItemsPerSecond)} items/s, score ${fixed(winner.score, 2)}) ` +
    (competing.length > 1 ? `of ${competing.map(label).join(", ")}, ` : "") +
    `with idle latency within ${tolerance}x of the fastest (${label(fastest)}, ${fixed(fastest.idleMs, 2)} ms)`
  ]
  const out = judged.filter((j) => j.excluded !== undefined)
  if (out.length > 0) parts.push(`ruled out: ${out.map((j) => `${label(j)} (${j.excluded})`).join("; ")}`)
  return parts.join("; ")
}

/**
 * One line per candidate: `2 x 1: short 530 items/s, long 61.2 items/s, idle 4.10 ms, +180 MiB`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe = (f: Figures): string =>
  `${label(f)}: short ${rate(f.shortItemsPerSecond)} items/s, long ${rate(f.longItemsPerSecond)} items/s, ` +
  `idle ${fixed(f.idleMs, 2)} ms, +${fixed(f.rssGrowthBytes / MiB, 0)} MiB`
