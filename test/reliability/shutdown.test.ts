/**
 * Shutdown: SIGTERM to the real server process (`bin.ts`, tiny ONNX model) while clients keep it
 * busy. Every request sent before the signal must be answered (200, or 503 once the drain timeout
 * has passed or for what the server had not yet read), no connection may be reset without an
 * answer, the process must exit 0, and no inference worker thread may outlive it (the child's
 * preload reports worker threads still running at exit).
 */
import { type Outcome, sleep } from "@adabatch/testkit/Client"
import { Pool, requestBytes } from "@adabatch/testkit/RawHttp"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Child from "./harness/ChildServer.js"
import { Figures, round } from "./harness/Figures.js"
import { json } from "./harness/Json.js"
import { texts } from "./harness/Texts.js"

const figures = new Figures("shutdown")
afterAll(() => figures.write())

interface Sent {
  /** ms relative to the signal (negative: before it). */
  readonly at: number
  readonly outcome: Outcome
}

/**
 * Keeps `clients` connections busy (each sends its next request as soon as it has an answer), sends
 * SIGTERM after `loadMs`, and lets the clients go on until the server has exited.
 */
const sigtermUnderLoad = async (flags: ReadonlyArray<string>, clients: number, inputs: number, loadMs: number) => {
  const server = await Child.start(["--model", "tiny", ...flags])
  const port = server.port
  const pool = await Pool.open(port, clients)
  const sent: Array<Sent> = []
  let signalAt = Number.POSITIVE_INFINITY
  let exited = false
  const started = performance.now()
  const lanes = Array.from({ length: clients }, async (_, lane) => {
    for (let i = 0; !exited && performance.now() - started < 120_000; i++) {
      const at = performance.now()
      const pending = pool.send(
        requestBytes(port, "POST", "/embed", { inputs: texts(lane * 100_000 + i, inputs, 30) }),
        { timeoutMs: 60_000 }
      )
      if (pending === undefined) break
      const outcome = await pending
      // answered before the signal: -Infinity (still "before")
      sent.push({ at: at - signalAt, outcome })
      if (outcome.error !== undefined) {
        // after the signal the listener closes: refused reconnects end this client
        if (at >= signalAt) break
      }
    }
  })
  await sleep(loadMs)
  signalAt = performance.now()
  const ended = await server.stop("SIGTERM", 60_000)
  exited = true
  await Promise.all(lanes)
  pool.close()
  return { ended, sent }
}

const count = (list: ReadonlyArray<Sent>, key: (s: Sent) => string) => {
  const out: Record<string, number> = {}
  for (const s of list) out[key(s)] = (out[key(s)] ?? 0) + 1
  return out
}

const label = (s: Sent) => (s.outcome.status === undefined ? `error ${s.outcome.error}` : String(s.outcome.status))

describe("SIGTERM under load", () => {
  it("with time to drain: every request sent before the signal is answered, exit 0, no worker left", async () => {
    const drainTimeoutMs = 10_000
    const { ended, sent } = await sigtermUnderLoad(["--drain-timeout-ms", String(drainTimeoutMs)], 32, 8, 1_500)
    const before = sent.filter((s) => s.at < 0)
    const after = sent.filter((s) => s.at >= 0)
    figures.set("drain", {
      drainTimeoutMs,
      clients: 32,
      sentBeforeSignal: before.length,
      answersBeforeSignal: count(before, label),
      sentAfterSignal: after.length,
      answersAfterSignal: count(after, label),
      exitCode: ended.code,
      exitSignal: ended.signal,
      exitAfterSignalMs: round(ended.afterMs, 0),
      workersStarted: ended.report?.workersStarted,
      workersAliveAtExit: ended.report?.workersAlive
    })
    expect(ended.signal).toBeNull()
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.report?.workersStarted).toBeGreaterThanOrEqual(1)
    expect(ended.report?.workersAlive).toBe(0)
    expect(ended.afterMs).toBeLessThan(drainTimeoutMs + 8_000)
    // every request sent before the signal got an answer: 200, or 503 (not yet read by the server)
    expect(before.length).toBeGreaterThan(0)
    for (const s of before) expect(["200", "503"]).toContain(label(s))
    expect(before.filter((s) => s.outcome.status === 200).length).toBeGreaterThan(0)
    // after the signal: refused with 503 (Retry-After, Connection: close), or not connected at all
    for (const s of after) {
      if (s.outcome.status !== undefined) {
        expect([200, 503]).toContain(s.outcome.status)
        if (s.outcome.status === 503) expect(s.outcome.headers["retry-after"]).toBeDefined()
      } else {
        expect(s.outcome.error).toMatch(/^reconnect: (ECONNREFUSED|ECONNRESET)$/)
      }
    }
  }, 120_000)

  it("when the drain timeout passes: what is left gets 503, nothing is reset, exit 0, no worker left", async () => {
    const drainTimeoutMs = 200
    const { ended, sent } = await sigtermUnderLoad(
      // no shedding: on a busy machine it would refuse some of the load before the signal (429)
      [
        "--drain-timeout-ms",
        String(drainTimeoutMs),
        "--overflow",
        "backpressure",
        "--queue-capacity",
        "4096",
        "--shed-late=false"
      ],
      64,
      32,
      1_500
    )
    const before = sent.filter((s) => s.at < 0)
    const after = sent.filter((s) => s.at >= 0)
    const drained = before.filter((s) => s.outcome.status === 503)
    figures.set("drainTimeout", {
      drainTimeoutMs,
      clients: 64,
      sentBeforeSignal: before.length,
      answersBeforeSignal: count(before, label),
      sentAfterSignal: after.length,
      answersAfterSignal: count(after, label),
      exitCode: ended.code,
      exitAfterSignalMs: round(ended.afterMs, 0),
      workersAliveAtExit: ended.report?.workersAlive,
      messageOf503: drained.length > 0 ? json(drained[0]!.outcome)?.error : undefined
    })
    expect(ended.signal).toBeNull()
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.report?.workersAlive).toBe(0)
    expect(ended.afterMs).toBeLessThan(drainTimeoutMs + 8_000)
    for (const s of before) expect(["200", "503"]).toContain(label(s))
    // the queue held more than 200 ms of work: some requests were cut off by the drain timeout
    expect(drained.length).toBeGreaterThan(0)
    for (const s of drained) {
      expect(s.outcome.headers["retry-after"]).toBeDefined()
      expect(json(s.outcome).error_type).toBe("Unhealthy")
    }
    for (const s of after) {
      if (s.outcome.status === undefined) expect(s.outcome.error).toMatch(/^reconnect: (ECONNREFUSED|ECONNRESET)$/)
      else expect([200, 503]).toContain(s.outcome.status)
    }
  }, 120_000)
})
