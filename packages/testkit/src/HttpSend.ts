/**
 * Turns pre-encoded HTTP requests into a load generator's `send`: request `i` uses body
 * `i mod n`, goes out on a pooled keep-alive connection, and its status becomes the outcome
 * (200 ok; 429 and 503 rejected; anything else, or no answer, an error).
 *
 * @since 0.1.0
 */
import * as Http1 from "./Http1.js"
import * as HttpClient from "./HttpClient.js"
import type { Outcome, Send } from "./Load.js"

/**
 * Maps an HTTP status to an outcome.
 *
 * @since 0.1.0
 * @category utils
 */
export const classify = (status: number): Outcome =>
  status >= 200 && status < 300 ? "ok" : status === 429 || status === 503 ? "rejected" : "error"

/**
 * A `send` over `pool` cycling through `requests`. `onResponse` sees every response (e.g. to
 * check bodies in tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  pool: HttpClient.Pool,
  requests: ReadonlyArray<Buffer>,
  onResponse?: (i: number, response: HttpClient.Response) => void
): Send => {
  if (requests.length === 0) throw new RangeError("no requests to send")
  return async (i) => {
    const connection = await pool.acquire()
    try {
      const response = await connection.send(requests[i % requests.length]!)
      pool.release(connection, false)
      onResponse?.(i, response)
      return classify(response.status)
    } catch {
      pool.release(connection, true)
      return "error"
    }
  }
}

/**
 * Encodes one `POST path` with body `{"inputs": text}` per text (and `fields`, e.g.
 * `{ truncate: true }`, after `inputs`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const embedRequests = (
  port: number,
  path: string,
  texts: ReadonlyArray<string>,
  fields?: Readonly<Record<string, unknown>>
): Array<Buffer> =>
  texts.map((text) =>
    Http1.encodeRequest({
      method: "POST",
      path,
      host: "127.0.0.1",
      port,
      body: JSON.stringify({ inputs: text, ...fields })
    })
  )

/**
 * One `GET` (e.g. `/metrics`), on a fresh connection; resolves with the body as text.
 *
 * @since 0.1.0
 * @category constructors
 */
export const get = async (port: number, path: string): Promise<{ status: number; text: string }> => {
  const c = await HttpClient.connect("127.0.0.1", port)
  try {
    const r = await c.send(Http1.encodeRequest({ method: "GET", path, host: "127.0.0.1", port }))
    return { status: r.status, text: r.body.toString("utf8") }
  } finally {
    c.close()
  }
}
