/**
 * The sweeper: fails requests whose deadline passes while they wait (even if no worker frees),
 * feeds large requests while a worker idles, and closes the capacity window on time.
 *
 * @since 0.1.0
 * @internal
 */
import { Duration, Effect } from "effect"
import type { Scope } from "effect"
import { rollWindow } from "../Admission.js"
import * as Metrics from "../BatchMetrics.js"
import type { Engine } from "./Engine.js"
import { DONE } from "./Job.js"
import { feed } from "./LargeRequests.js"
import { expire } from "./Settle.js"

/** One sweep. */
const sweep = <I, O, E, R>(e: Engine<I, O, E, R>) =>
  Effect.sync(() => {
    const now = e.now()
    const live = e.live
    live.trim()
    const items = live.items
    const full = e.liveCustom > 0
    for (let i = live.head; i < items.length; i++) {
      const job = items[i]!
      if (job.state === DONE) continue
      if (now >= job.deadline) expire(e, job, now)
      else if (!full && !job.custom) break
    }
    live.trim()
    if (e.feeds.length > 0 && e.busy < e.settings.workers) feed(e, now)
    e.flushOutcomes()
    e.update(Metrics.queueDepth, e.pending)
    rollWindow(e, now)
  })

/**
 * Forks the sweeper in `scope`: a sweep every 1/20 of the default timeout, between 5 and 100 ms.
 *
 * @internal
 */
export const fork = <I, O, E, R>(e: Engine<I, O, E, R>, scope: Scope.Scope) => {
  const tickMs = Math.min(100, Math.max(5, e.settings.defaultTimeoutMs / 20))
  return sweep(e).pipe(
    Effect.andThen(Effect.sleep(Duration.millis(tickMs))),
    Effect.forever,
    Effect.forkIn(scope)
  )
}
