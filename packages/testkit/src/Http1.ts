/**
 * The HTTP/1.1 wire format as the test and benchmark clients need it: a request encoded once into
 * exact bytes, and one response parsed from the start of a buffer. Both raw clients use these two
 * functions: the load generator's keep-alive connections ({@link HttpClient}) and the reliability
 * suite's exact-bytes exchanges ({@link RawHttp}).
 *
 * Only the loopback is ever a target: requests name `127.0.0.1` unless a host is given.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * Only the loopback is ever a target.
 *
 * @since 0.1.0
 * @category constants
 */
export const HOST = "127.0.0.1"

/**
 * A request could not be completed: the connection failed, closed early, or the response was
 * malformed.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpClientError extends Data.TaggedError("HttpClientError")<{
  readonly reason: string
}> {
  override get message(): string {
    return `HTTP client: ${this.reason}`
  }
}

/**
 * Encodes a request once, so that sending it costs one socket write. A body that is not a string
 * or a Buffer is sent as JSON; with a body, `content-type: application/json` and `content-length`
 * are added unless `headers` name them (or `transfer-encoding`). `headers` follow as given.
 *
 * @example
 * ```ts
 * import { Http1 } from "@adabatch/testkit"
 *
 * const bytes = Http1.encodeRequest({ method: "POST", path: "/embed", port: 8080, body: { inputs: "hi" } })
 * console.log(bytes.toString("latin1").split("\r\n")[0]) // "POST /embed HTTP/1.1"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodeRequest = (options: {
  readonly method: string
  readonly path: string
  readonly port: number
  readonly host?: string | undefined
  readonly body?: string | Buffer | object | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}): Buffer => {
  const { body } = options
  const bytes = body === undefined
    ? undefined
    : Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === "string" ? body : JSON.stringify(body), "utf8")
  const headers = options.headers ?? {}
  const lines = [`${options.method} ${options.path} HTTP/1.1`, `host: ${options.host ?? HOST}:${options.port}`]
  const lower = new Set(Object.keys(headers).map((k) => k.toLowerCase()))
  if (bytes !== undefined) {
    if (!lower.has("content-type")) lines.push("content-type: application/json")
    if (!lower.has("content-length") && !lower.has("transfer-encoding")) lines.push(`content-length: ${bytes.length}`)
  }
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1")
  return bytes === undefined ? head : Buffer.concat([head, bytes])
}

/**
 * One parsed response.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parsed {
  readonly status: number
  /** Header names in lower case (the last of repeated ones); empty with `headers: false`. */
  readonly headers: Record<string, string>
  /** The body (a copy, never a view of the input buffer). */
  readonly body: Buffer
  /** Bytes of the input this response used. */
  readonly used: number
}

/**
 * How to read a response.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /** The answer to a `HEAD` request: no body, whatever the headers say. */
  readonly head?: boolean | undefined
  /**
   * A response with neither `content-length` nor chunked framing: `"close"` (default) waits for
   * the connection to close (`undefined` until then), `"empty"` reads it as an empty body.
   */
  readonly unframed?: "close" | "empty" | undefined
  /** Whether to read every header into `headers` (default `true`; `false` leaves it empty). */
  readonly headers?: boolean | undefined
}

const CRLF = "\r\n"

/**
 * A response head: the status, the framing headers, and every header.
 *
 * @since 0.1.0
 * @category models
 */
export interface Head {
  readonly status: number
  /** The `content-length` value as written, if any (the last one). */
  readonly contentLength: string | undefined
  /** Whether `transfer-encoding` (the last one) names `chunked`. */
  readonly chunked: boolean
  /** Header names in lower case (the last of repeated ones); empty when not asked for. */
  readonly headers: Record<string, string>
}

/**
 * The response head from `offset` to `end` (the blank line's offset); throws
 * {@link HttpClientError} on a malformed status line. With `withHeaders` false, only the framing
 * headers are read (the load generator's hot path).
 *
 * @since 0.1.0
 * @category parsing
 */
export const readHead = (buffer: Buffer, offset: number, end: number, withHeaders = true): Head => {
  const lines = buffer.toString("latin1", offset, end).split(CRLF)
  const statusLine = lines[0] ?? ""
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  if (match === null) throw new HttpClientError({ reason: `malformed status line ${JSON.stringify(statusLine)}` })
  const headers: Record<string, string> = {}
  let contentLength: string | undefined
  let transferEncoding: string | undefined
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (name === "content-length") contentLength = line.slice(colon + 1).trim()
    else if (name === "transfer-encoding") transferEncoding = line.slice(colon + 1).trim()
    if (withHeaders) headers[name] = line.slice(colon + 1).trim()
  }
  return {
    status: Number(match[1]),
    contentLength,
    chunked: transferEncoding?.toLowerCase().includes("chunked") === true,
    headers
  }
}

/** A chunked body from `start`: the parts' bytes and where the message ends; `undefined` if incomplete. */
const parseChunked = (buffer: Buffer, start: number): { body: Buffer; used: number } | undefined => {
  const parts: Array<Buffer> = []
  let at = start
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at, "latin1")
    if (lineEnd < 0) return undefined
    const size = parseInt(buffer.toString("latin1", at, lineEnd), 16)
    if (!Number.isFinite(size)) throw new HttpClientError({ reason: "malformed chunk size" })
    const dataStart = lineEnd + 2
    if (size === 0) {
      // the last chunk, then optional trailers, then CRLF
      const end = buffer.indexOf("\r\n\r\n", lineEnd, "latin1")
      if (end >= 0) return { body: Buffer.concat(parts), used: end + 4 }
      if (buffer.length >= dataStart + 2 && buffer[dataStart] === 13 && buffer[dataStart + 1] === 10) {
        return { body: Buffer.concat(parts), used: dataStart + 2 }
      }
      return undefined
    }
    if (buffer.length < dataStart + size + 2) return undefined
    parts.push(buffer.subarray(dataStart, dataStart + size))
    at = dataStart + size + 2
  }
}

/**
 * Parses one complete response at the start of `buffer`, skipping interim (1xx) responses.
 * Returns `undefined` when more bytes are needed; throws {@link HttpClientError} on a malformed
 * status line or chunk size.
 *
 * @example
 * ```ts
 * import { Http1 } from "@adabatch/testkit"
 *
 * const parsed = Http1.parseResponse(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))
 * console.log(parsed?.status, parsed?.body.toString()) // 200 "ok"
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseResponse = (buffer: Buffer, options: ParseOptions = {}): Parsed | undefined => {
  let offset = 0
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n", offset, "latin1")
    if (end < 0) return undefined
    const head = readHead(buffer, offset, end, options.headers !== false)
    const { headers, status } = head
    const bodyStart = end + 4
    if (status >= 100 && status < 200) {
      offset = bodyStart
      continue
    }
    if (options.head === true || status === 204 || status === 304) {
      return { status, headers, body: Buffer.alloc(0), used: bodyStart }
    }
    if (head.chunked) {
      const chunked = parseChunked(buffer, bodyStart)
      return chunked === undefined ? undefined : { status, headers, ...chunked }
    }
    const length = head.contentLength
    if (length === undefined && options.unframed !== "empty") return undefined // delimited by the close
    const n = length === undefined ? 0 : Number(length)
    if (buffer.length < bodyStart + n) return undefined
    return { status, headers, body: Buffer.from(buffer.subarray(bodyStart, bodyStart + n)), used: bodyStart + n }
  }
}
