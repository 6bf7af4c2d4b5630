/**
 * Traffic for the scale-out test: every request is one `POST /embed` with one short text over a
 * keep-alive connection, and its record says when it left, when it ended, and how: an HTTP status
 * (with the replica that answered, from HAProxy's `X-Served-By`) or the connection error instead.
 */
import { agent, type Outcome, send, sleep } from "@adabatch/testkit/Client"
import type * as Http from "node:http"

/** One request. */
export interface Sent {
  /** ms on the performance clock. */
  readonly sentAt: number
  readonly endedAt: number
  readonly status: number | undefined
  readonly error: string | undefined
  /** `X-Served-By`: the replica HAProxy sent it to. */
  readonly servedBy: string | undefined
  readonly body: string
}

const record = (sentAt: number, outcome: Outcome): Sent => ({
  sentAt,
  endedAt: performance.now(),
  status: outcome.status,
  error: outcome.error,
  servedBy: typeof outcome.headers["x-served-by"] === "string" ? outcome.headers["x-served-by"] : undefined,
  body: outcome.body.toString("utf8").slice(0, 200)
})

const embed = (port: number, i: number, via: Http.Agent, inputs = 1) =>
  send(port, {
    path: "/embed",
    body: { inputs: Array.from({ length: inputs }, (_, k) => `request ${i} text ${k} about the weather today`) },
    timeoutMs: 30_000
  }, via)

/**
 * `clients` clients each send their next request as soon as the previous one is answered, for
 * `ms`: the answers per second measure capacity.
 */
export const closedLoop = async (port: number, clients: number, ms: number): Promise<Array<Sent>> => {
  const via = agent(clients)
  const sent: Array<Sent> = []
  const end = performance.now() + ms
  let i = 0
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const at = performance.now()
      sent.push(record(at, await embed(port, i++, via)))
    }
  }))
  via.destroy()
  return sent
}

/** A running open-loop load. */
export interface OpenLoop {
  /** Stops sending and resolves with every request once all are answered. */
  readonly stop: () => Promise<Array<Sent>>
}

/**
 * Sends `perSecond` requests per second, evenly spaced, whatever the answers (at most `maxInFlight`
 * outstanding; the plan stops after `maxMs` in any case).
 */
export const openLoop = (
  port: number,
  perSecond: number,
  options: { readonly maxInFlight?: number; readonly maxMs?: number; readonly inputs?: number } = {}
): OpenLoop => {
  const maxInFlight = options.maxInFlight ?? 256
  const via = agent(maxInFlight)
  const sent: Array<Sent> = []
  const pending = new Set<Promise<void>>()
  const start = performance.now()
  let stopped = false
  let i = 0
  const loop = (async () => {
    while (!stopped && performance.now() - start < (options.maxMs ?? 60_000)) {
      const due = Math.floor(((performance.now() - start) / 1000) * perSecond)
      while (i < due && pending.size < maxInFlight) {
        const at = performance.now()
        const p = embed(port, i++, via, options.inputs).then((o) => {
          sent.push(record(at, o))
          pending.delete(p)
        })
        pending.add(p)
      }
      await sleep(1)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      await Promise.all([...pending])
      via.destroy()
      return sent
    }
  }
}

/** `{ "200": n, "502": n, "error ECONNRESET": n }` */
export const tally = (list: ReadonlyArray<Sent>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const s of list) {
    const key = s.status === undefined ? `error ${s.error}` : String(s.status)
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}

/** Requests by the replica that answered them. */
export const byReplica = (list: ReadonlyArray<Sent>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const s of list) {
    const key = s.servedBy ?? "none"
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}
