/**
 * The HTTP client of the reliability suite: real HTTP/1.1 over 127.0.0.1 with `node:http` and a
 * keep-alive agent, recording for every request exactly one outcome: a status, or the connection
 * error that replaced it. `Tally` counts outcomes so a test can check that every request sent got
 * exactly one answer.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import { HOST } from "./Http1.js"

/**
 * What happened to one request.
 *
 * @since 0.1.0
 */
export interface Outcome {
  /** The HTTP status, when an answer arrived. */
  readonly status: number | undefined
  /** The connection error instead of an answer (`ECONNRESET`, `client-timeout`, ...). */
  readonly error: string | undefined
  /** From just before the request was written to the end of the answer. */
  readonly latencyMs: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

/**
 * One request. A string or object body is sent as JSON unless `contentType` says otherwise.
 *
 * @since 0.1.0
 */
export interface RequestSpec {
  readonly method?: string | undefined
  readonly path: string
  readonly body?: string | Buffer | object | undefined
  readonly headers?: Record<string, string> | undefined
  /** Give up (outcome `client-timeout`) after this long; default 60 s. */
  readonly timeoutMs?: number | undefined
  readonly signal?: AbortSignal | undefined
}

/**
 * A keep-alive agent; `maxSockets` bounds the open connections.
 *
 * @since 0.1.0
 */
export const agent = (maxSockets = 256): Http.Agent =>
  new Http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "fifo" })

const errorCode = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const code = (e as { code?: unknown }).code
    if (typeof code === "string") return code
    const message = (e as { message?: unknown }).message
    if (typeof message === "string") return message
  }
  return String(e)
}

/**
 * Sends one request; never rejects: failures are outcomes.
 *
 * @example
 * ```ts
 * import { Client } from "@adabatch/testkit"
 *
 * const outcome = await Client.send(8080, { path: "/embed", body: { inputs: "hello" }, timeoutMs: 5_000 })
 * console.log(outcome.status ?? outcome.error, outcome.latencyMs)
 * ```
 *
 * @since 0.1.0
 */
export const send = (port: number, spec: RequestSpec, via?: Http.Agent): Promise<Outcome> =>
  new Promise((resolve) => {
    const start = performance.now()
    let settled = false
    const finish = (outcome: Omit<Outcome, "latencyMs">) => {
      if (settled) return
      settled = true
      resolve({ ...outcome, latencyMs: performance.now() - start })
    }
    const body = spec.body === undefined
      ? undefined
      : typeof spec.body === "string" || Buffer.isBuffer(spec.body)
      ? spec.body
      : JSON.stringify(spec.body)
    const headers: Record<string, string | number> = {}
    if (body !== undefined) {
      headers["content-type"] = "application/json"
      headers["content-length"] = Buffer.byteLength(body)
    }
    Object.assign(headers, spec.headers)
    const request = Http.request({
      host: HOST,
      port,
      method: spec.method ?? (body === undefined ? "GET" : "POST"),
      path: spec.path,
      headers,
      agent: via ?? false,
      ...(spec.signal === undefined ? {} : { signal: spec.signal })
    })
    request.setTimeout(spec.timeoutMs ?? 60_000, () => {
      request.destroy(Object.assign(new Error("client timeout"), { code: "client-timeout" }))
    })
    request.on("error", (e) => finish({ status: undefined, error: errorCode(e), headers: {}, body: Buffer.alloc(0) }))
    request.on("response", (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on(
        "error",
        (e) => finish({ status: undefined, error: errorCode(e), headers: {}, body: Buffer.alloc(0) })
      )
      response.on(
        "aborted",
        () => finish({ status: undefined, error: "response-aborted", headers: {}, body: Buffer.alloc(0) })
      )
      response.on("end", () =>
        finish({
          status: response.statusCode,
          error: undefined,
          headers: response.headers,
          body: Buffer.concat(chunks)
        }))
    })
    request.end(body)
  })

/**
 * Counts outcomes: answers by status, connection errors by code.
 *
 * @since 0.1.0
 */
export class Tally {
  sent = 0
  readonly byStatus = new Map<number, number>()
  readonly byError = new Map<string, number>()
  /** Answers that should have carried `Retry-After` (429, 503) and did not. */
  missingRetryAfter = 0

  /** Call before sending. */
  start(): void {
    this.sent++
  }

  add(outcome: Outcome): void {
    if (outcome.status === undefined) {
      const key = outcome.error ?? "unknown"
      this.byError.set(key, (this.byError.get(key) ?? 0) + 1)
      return
    }
    this.byStatus.set(outcome.status, (this.byStatus.get(outcome.status) ?? 0) + 1)
    if ((outcome.status === 429 || outcome.status === 503) && outcome.headers["retry-after"] === undefined) {
      this.missingRetryAfter++
    }
  }

  status(code: number): number {
    return this.byStatus.get(code) ?? 0
  }

  get answered(): number {
    let n = 0
    for (const v of this.byStatus.values()) n += v
    return n
  }

  get errors(): number {
    let n = 0
    for (const v of this.byError.values()) n += v
    return n
  }

  /** `{ "200": n, "429": n, ... }`, statuses in order. */
  statuses(): Record<string, number> {
    return Object.fromEntries([...this.byStatus.entries()].sort(([a], [b]) => a - b).map(([k, v]) => [String(k), v]))
  }

  errorsByCode(): Record<string, number> {
    return Object.fromEntries(this.byError.entries())
  }
}

/**
 * Waits `ms`.
 *
 * @since 0.1.0
 */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check` every 10 ms until it holds; throws after `timeoutMs`.
 *
 * @since 0.1.0
 */
export const eventually = async (
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition"
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await sleep(10)
  }
}
