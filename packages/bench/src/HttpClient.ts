/**
 * A minimal HTTP/1.1 keep-alive client on raw sockets, used as the load generator.
 *
 * `node:http`'s client costs several times more CPU per request than a bare `node:http` server
 * spends answering it, so on a 2-core machine it would be the bottleneck of every transport
 * measurement. This client writes pre-encoded requests and parses only the status line,
 * `content-length` and `transfer-encoding: chunked`. One request at a time per connection (no
 * pipelining), as real clients do.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import * as Net from "node:net"

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
 * A response: the status code and the raw body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  readonly status: number
  readonly body: Buffer
}

/**
 * Encodes a request once, so that sending it costs one socket write.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodeRequest = (options: {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly host: string
  readonly port: number
  readonly body?: string | undefined
}): Buffer => {
  const body = options.body === undefined ? undefined : Buffer.from(options.body, "utf8")
  const head = `${options.method} ${options.path} HTTP/1.1\r\nhost: ${options.host}:${options.port}\r\n` +
    (body === undefined ? "" : `content-type: application/json\r\ncontent-length: ${body.length}\r\n`) + "\r\n"
  return body === undefined ? Buffer.from(head, "latin1") : Buffer.concat([Buffer.from(head, "latin1"), body])
}

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1")

/**
 * Parses one response from the start of `buf`. Returns the response and the number of bytes it
 * took, `undefined` when more bytes are needed, or throws on malformed input.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseResponse = (buf: Buffer): { readonly response: Response; readonly length: number } | undefined => {
  const headEnd = buf.indexOf(CRLFCRLF)
  if (headEnd < 0) return undefined
  const head = buf.toString("latin1", 0, headEnd)
  const lines = head.split("\r\n")
  const statusLine = lines[0] ?? ""
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  if (match === null) throw new HttpClientError({ reason: `malformed status line ${JSON.stringify(statusLine)}` })
  const status = Number(match[1])
  let contentLength = -1
  let chunked = false
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(":")
    if (colon < 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (name === "content-length") contentLength = Number(line.slice(colon + 1).trim())
    else if (name === "transfer-encoding" && line.slice(colon + 1).toLowerCase().includes("chunked")) chunked = true
  }
  const bodyStart = headEnd + 4
  if (chunked) {
    const parts: Array<Buffer> = []
    let pos = bodyStart
    while (true) {
      const lineEnd = buf.indexOf("\r\n", pos, "latin1")
      if (lineEnd < 0) return undefined
      const size = parseInt(buf.toString("latin1", pos, lineEnd), 16)
      if (!Number.isFinite(size)) throw new HttpClientError({ reason: "malformed chunk size" })
      const dataStart = lineEnd + 2
      if (size === 0) {
        // last chunk, then optional trailers, then CRLF
        const end = buf.indexOf(CRLFCRLF, lineEnd, "latin1")
        if (end < 0) {
          if (buf.length >= dataStart + 2 && buf[dataStart] === 13 && buf[dataStart + 1] === 10) {
            return { response: { status, body: Buffer.concat(parts) }, length: dataStart + 2 }
          }
          return undefined
        }
        return { response: { status, body: Buffer.concat(parts) }, length: end + 4 }
      }
      if (buf.length < dataStart + size + 2) return undefined
      parts.push(buf.subarray(dataStart, dataStart + size))
      pos = dataStart + size + 2
    }
  }
  const length = contentLength < 0 ? 0 : contentLength
  if (buf.length < bodyStart + length) return undefined
  return { response: { status, body: buf.subarray(bodyStart, bodyStart + length) }, length: bodyStart + length }
}

/**
 * One keep-alive connection. `send` must not be called again before the previous promise settled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  readonly send: (request: Buffer) => Promise<Response>
  readonly close: () => void
  readonly busy: () => boolean
  readonly isClosed: () => boolean
}

/**
 * Opens a connection to `host:port`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (host: string, port: number): Promise<Connection> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect({ host, port, noDelay: true })
    let buffer: Buffer = Buffer.alloc(0)
    let pending: { resolve: (r: Response) => void; reject: (e: unknown) => void } | undefined
    let closed = false
    let connected = false
    const failPending = (reason: string) => {
      const p = pending
      pending = undefined
      p?.reject(new HttpClientError({ reason }))
    }
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
      if (pending === undefined) return
      let parsed
      try {
        parsed = parseResponse(buffer)
      } catch (e) {
        failPending(e instanceof HttpClientError ? e.reason : String(e))
        socket.destroy()
        return
      }
      if (parsed === undefined) return
      buffer = buffer.length === parsed.length ? Buffer.alloc(0) : buffer.subarray(parsed.length)
      const p = pending
      pending = undefined
      // copy the body out of the socket buffer, which is reused
      p.resolve({ status: parsed.response.status, body: Buffer.from(parsed.response.body) })
    })
    socket.on("close", () => {
      closed = true
      failPending("connection closed before the response was complete")
    })
    socket.on("error", (e) => {
      if (!connected) reject(new HttpClientError({ reason: `cannot connect to ${host}:${port}: ${e.message}` }))
      else failPending(`socket error: ${e.message}`)
    })
    socket.once("connect", () => {
      connected = true
      resolve({
        busy: () => pending !== undefined,
        isClosed: () => closed,
        close: () => {
          closed = true
          socket.destroy()
        },
        send: (request) =>
          new Promise<Response>((res, rej) => {
            if (closed) return rej(new HttpClientError({ reason: "connection is closed" }))
            if (pending !== undefined) return rej(new HttpClientError({ reason: "connection is busy" }))
            pending = { resolve: res, reject: rej }
            socket.write(request)
          })
      })
    })
  })

/**
 * A pool of keep-alive connections that grows on demand up to `max`. `acquire` hands out an idle
 * connection or opens a new one; `release` returns it (a broken one is dropped).
 *
 * @since 0.1.0
 * @category models
 */
export interface Pool {
  readonly acquire: () => Promise<Connection>
  readonly release: (connection: Connection, broken: boolean) => void
  /** Opens connections until `n` are idle (at most `parallel` connects at once). */
  readonly warm: (n: number, parallel?: number) => Promise<void>
  readonly size: () => number
  readonly close: () => void
}

/**
 * Makes a pool towards `host:port`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePool = (host: string, port: number): Pool => {
  const idle: Array<Connection> = []
  const all = new Set<Connection>()
  const open = async (): Promise<Connection> => {
    const c = await connect(host, port)
    all.add(c)
    return c
  }
  return {
    acquire: () => {
      let c = idle.pop()
      while (c !== undefined && c.isClosed()) {
        all.delete(c)
        c = idle.pop()
      }
      return c === undefined ? open() : Promise.resolve(c)
    },
    release: (c, broken) => {
      if (broken) {
        c.close()
        all.delete(c)
      } else idle.push(c)
    },
    warm: async (n, parallel = 128) => {
      while (idle.length < n) {
        const batch = Math.min(parallel, n - idle.length)
        const opened = await Promise.all(Array.from({ length: batch }, open))
        idle.push(...opened)
      }
    },
    size: () => all.size,
    close: () => {
      for (const c of all) c.close()
      all.clear()
      idle.length = 0
    }
  }
}
