/**
 * A progress bar on stderr: the current scenario and step, the share of planned work done and an
 * ETA. Each step declares its planned duration up front; the ETA scales the remaining plan by how
 * fast the run has gone so far. On a terminal the bar redraws in place; otherwise (CI, a pipe) it
 * prints one line per step.
 *
 * @since 0.1.0
 */

/**
 * The progress reporter.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  /** Adds planned work (seconds), e.g. when a scenario computes its plan. */
  readonly plan: (seconds: number) => void
  /** Starts a step of `seconds` planned work; the previous step is complete. */
  readonly step: (scenario: string, detail: string, seconds: number) => void
  /** Prints a line above the bar. */
  readonly log: (line: string) => void
  readonly done: () => void
}

const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  const m = Math.floor(s / 60)
  return m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`
}

/**
 * A progress reporter writing to `stream` (default stderr). `enabled: false` prints nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly enabled: boolean
  readonly stream?: NodeJS.WriteStream | undefined
}): Progress => {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  let planned = 0
  let completed = 0
  let current: { scenario: string; detail: string; seconds: number; startedAt: number } | undefined
  const t0 = Date.now()
  let timer: NodeJS.Timeout | undefined

  const line = (): string => {
    const elapsed = (Date.now() - t0) / 1000
    const inStep = current === undefined ? 0 : Math.min(current.seconds, (Date.now() - current.startedAt) / 1000)
    const doneWork = completed + inStep
    const fraction = planned > 0 ? Math.min(1, doneWork / planned) : 0
    const speed = doneWork > 1 ? elapsed / doneWork : 1
    const eta = (planned - doneWork) * speed
    const width = 24
    const filled = Math.round(fraction * width)
    const bar = "#".repeat(filled) + "-".repeat(width - filled)
    const what = current === undefined ? "" : `${current.scenario}: ${current.detail}`
    return `[${bar}] ${String(Math.round(fraction * 100)).padStart(3)}% ${formatDuration(elapsed)} ETA ${
      formatDuration(eta)
    }  ${what}`
  }
  const draw = () => {
    if (!options.enabled) return
    const cols = stream.columns ?? 120
    stream.write(`\r${line().slice(0, cols - 1).padEnd(cols - 1)}`)
  }
  const clear = () => {
    if (options.enabled && tty) stream.write(`\r${" ".repeat((stream.columns ?? 120) - 1)}\r`)
  }
  const finishStep = () => {
    if (current !== undefined) completed += current.seconds
    current = undefined
  }
  if (options.enabled && tty) {
    timer = setInterval(draw, 500)
    timer.unref()
  }
  return {
    plan: (seconds) => {
      planned += seconds
    },
    step: (scenario, detail, seconds) => {
      finishStep()
      current = { scenario, detail, seconds, startedAt: Date.now() }
      if (completed + seconds > planned) planned = completed + seconds
      if (!options.enabled) return
      if (tty) draw()
      else stream.write(`${line()}\n`)
    },
    log: (text) => {
      if (!options.enabled) return
      clear()
      stream.write(`${text}\n`)
      if (tty) draw()
    },
    done: () => {
      finishStep()
      if (timer !== undefined) clearInterval(timer)
      if (!options.enabled) return
      clear()
      stream.write(`done in ${formatDuration((Date.now() - t0) / 1000)}\n`)
    }
  }
}
