/**
 * HTTP/1.1 over plain `node:net` sockets to 127.0.0.1, for the cases where `node:http` hides what
 * matters:
 *
 * - a **connection pool opened ahead of the load**, in small waves, so that an open-loop load never
 *   opens hundreds of connections at once (a burst beyond the listen backlog makes the kernel drop
 *   handshakes, which shows up as multi-second client latency that the server never saw);
 * - **exact bytes**: malformed request lines, invalid UTF-8, wrong framing, bodies sent slowly.
 *
 * Every exchange ends in exactly one `Outcome`: a parsed answer, or the reason there was none
 * (`ECONNRESET`, `closed-without-answer`, `client-timeout`, ...).
 *
 * @since 0.1.0
 */
import * as Net from "node:net"
import type { Outcome } from "./Client.js"
import { encodeRequest, HOST, type Parsed, parseResponse, readHead } from "./Http1.js"

/**
 * Builds the bytes of a request with a `Content-Length` body (when given): `Http1.encodeRequest`
 * with positional arguments, as the reliability tests write it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const requestBytes = (
  port: number,
  method: string,
  path: string,
  body?: string | Buffer | object,
  headers: Record<string, string> = {}
): Buffer => encodeRequest({ method, path, port, body, headers })

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string"
    ? (e as { code: string }).code
    : String(e)

/**
 * Opens a TCP connection to 127.0.0.1:`port`.
 *
 * @since 0.1.0
 */
export const connect = (port: number, timeoutMs = 10_000): Promise<Net.Socket> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect({ host: HOST, port })
    socket.setNoDelay(true)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`connect to ${HOST}:${port} timed out`))
    }, timeoutMs)
    socket.once("connect", () => {
      clearTimeout(timer)
      resolve(socket)
    })
    socket.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })

/**
 * One request/response exchange on `socket`: writes `parts` (waiting `gapMs` between them), reads
 * one response. The outcome also says whether the server closed the connection.
 *
 * @since 0.1.0
 */
export const exchange = (
  socket: Net.Socket,
  parts: ReadonlyArray<Buffer>,
  options: { readonly timeoutMs?: number; readonly gapMs?: number; readonly head?: boolean } = {}
): Promise<Outcome & { readonly closed: boolean }> =>
  new Promise((resolve) => {
    const start = performance.now()
    let buffer: Buffer = Buffer.alloc(0)
    let settled = false
    let writing: ReturnType<typeof setTimeout> | undefined
    const finish = (outcome: Omit<Outcome, "latencyMs"> & { readonly closed: boolean }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(writing)
      socket.off("data", onData)
      socket.off("close", onClose)
      socket.off("error", onError)
      resolve({ ...outcome, latencyMs: performance.now() - start })
    }
    const none = (error: string) =>
      finish({ status: undefined, error, headers: {}, body: Buffer.alloc(0), closed: true })
    const onData = (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
      let parsed: Parsed | undefined
      try {
        parsed = parseResponse(buffer, { head: options.head === true })
      } catch (e) {
        socket.destroy()
        return none(`bad-response: ${String(e)}`)
      }
      if (parsed === undefined) return
      const closing = parsed.headers["connection"]?.toLowerCase() === "close"
      finish({ status: parsed.status, error: undefined, headers: parsed.headers, body: parsed.body, closed: closing })
    }
    let lastError: string | undefined
    const onError = (e: unknown) => {
      lastError = codeOf(e)
    }
    const onClose = () => {
      // a response delimited by the close
      if (buffer.length > 0) {
        const end = buffer.indexOf("\r\n\r\n", 0, "latin1")
        if (end !== -1) {
          try {
            const parsed = parseResponse(Buffer.concat([buffer]), { head: options.head === true })
            if (parsed !== undefined) {
              return finish({
                status: parsed.status,
                error: undefined,
                headers: parsed.headers,
                body: parsed.body,
                closed: true
              })
            }
            const { headers, status } = readHead(buffer, 0, end)
            if (headers["content-length"] === undefined) {
              return finish({ status, error: undefined, headers, body: buffer.subarray(end + 4), closed: true })
            }
          } catch {
            // fall through
          }
        }
      }
      none(lastError ?? "closed-without-answer")
    }
    const timer = setTimeout(() => {
      socket.destroy()
      none("client-timeout")
    }, options.timeoutMs ?? 60_000)
    socket.on("data", onData)
    socket.on("close", onClose)
    socket.on("error", onError)
    if (socket.destroyed) return none("closed-before-request")
    let index = 0
    const writeNext = () => {
      if (settled || socket.destroyed) return
      const part = parts[index++]
      if (part === undefined) return
      socket.write(part)
      if (index < parts.length) writing = setTimeout(writeNext, options.gapMs ?? 0)
    }
    writeNext()
  })

/**
 * Connects, exchanges, closes: for one-off requests with exact bytes.
 *
 * @since 0.1.0
 */
export const oneShot = async (
  port: number,
  parts: ReadonlyArray<Buffer>,
  options: { readonly timeoutMs?: number; readonly gapMs?: number; readonly head?: boolean } = {}
): Promise<Outcome & { readonly closed: boolean }> => {
  let socket: Net.Socket
  try {
    socket = await connect(port)
  } catch (e) {
    return { status: undefined, error: codeOf(e), headers: {}, body: Buffer.alloc(0), latencyMs: 0, closed: true }
  }
  try {
    return await exchange(socket, parts, options)
  } finally {
    socket.destroy()
  }
}

/** A connection of the pool: one exchange at a time. */
interface Lane {
  socket: Net.Socket | undefined
  busy: boolean
}

/**
 * A fixed pool of keep-alive connections, opened ahead of the load in waves of `wave`. A lane
 * whose connection the server closed reconnects on its next use; a failed reconnect is an error
 * `reconnect: CODE` (refused, or reset before the server accepted the connection).
 *
 * @example
 * ```ts
 * import { RawHttp } from "@adabatch/testkit"
 *
 * const port = 8080
 * const pool = await RawHttp.Pool.open(port, 32)
 * const sent = pool.send(RawHttp.requestBytes(port, "POST", "/embed", { inputs: "hello" }))
 * const outcome = sent === undefined ? undefined : await sent // undefined: every lane was busy
 * console.log(outcome?.status ?? outcome?.error)
 * pool.close()
 * ```
 *
 * @since 0.1.0
 */
export class Pool {
  private readonly lanes: Array<Lane> = []
  private readonly free: Array<Lane> = []
  /** Connections opened again after the server closed them. */
  reconnects = 0

  private constructor(readonly port: number, readonly size: number) {}

  static async open(port: number, size: number, wave = 64): Promise<Pool> {
    const pool = new Pool(port, size)
    for (let opened = 0; opened < size; opened += wave) {
      const n = Math.min(wave, size - opened)
      const sockets = await Promise.all(Array.from({ length: n }, () => connect(port)))
      for (const socket of sockets) {
        const lane: Lane = { socket, busy: false }
        pool.watch(lane, socket)
        pool.lanes.push(lane)
        pool.free.push(lane)
      }
    }
    return pool
  }

  private watch(lane: Lane, socket: Net.Socket) {
    socket.on("error", () => {})
    socket.once("close", () => {
      if (lane.socket === socket) lane.socket = undefined
    })
  }

  /** Free lanes. */
  get idle(): number {
    return this.free.length
  }

  /**
   * Sends `bytes` on a free lane (FIFO, so every lane is used regularly); `undefined` when every
   * lane is busy.
   */
  send(
    bytes: Buffer,
    options: { readonly timeoutMs?: number; readonly head?: boolean } = {}
  ): Promise<Outcome> | undefined {
    const lane = this.free.shift()
    if (lane === undefined) return undefined
    lane.busy = true
    return (async () => {
      const reconnecting = lane.socket === undefined || lane.socket.destroyed
      if (reconnecting) {
        this.reconnects++
        try {
          const socket = await connect(this.port)
          lane.socket = socket
          this.watch(lane, socket)
        } catch (e) {
          lane.busy = false
          this.free.push(lane)
          return {
            status: undefined,
            error: `reconnect: ${codeOf(e)}`,
            headers: {},
            body: Buffer.alloc(0),
            latencyMs: 0
          }
        }
      }
      const socket = lane.socket!
      const exchanged = await exchange(socket, [bytes], options)
      // A new connection reset before a byte came back was never accepted by the server: it sat in
      // the kernel's accept backlog when the listener closed. That is a failed reconnect (the
      // request was never read), not a reset of an open connection.
      const outcome = reconnecting && exchanged.error === "ECONNRESET" && socket.bytesRead === 0
        ? { ...exchanged, error: "reconnect: ECONNRESET" }
        : exchanged
      if (outcome.closed) {
        lane.socket?.destroy() // the close handler may have cleared it already
        lane.socket = undefined
      }
      lane.busy = false
      this.free.push(lane)
      return outcome
    })()
  }

  close(): void {
    for (const lane of this.lanes) lane.socket?.destroy()
  }
}

/**
 * Writes `requests` back to back on one new connection (HTTP pipelining) and reads their answers
 * in order, as a client that reads its answers does; stops at the first connection error or after
 * `timeoutMs`. Each answer is `{ status, body }`.
 *
 * @since 0.1.0
 */
export const pipelined = async (
  port: number,
  requests: ReadonlyArray<Buffer>,
  timeoutMs = 60_000
): Promise<{ readonly answers: Array<{ status: number; body: Buffer }>; readonly error: string | undefined }> => {
  const socket = await connect(port)
  const answers: Array<{ status: number; body: Buffer }> = []
  return new Promise((resolve) => {
    let buffer: Buffer = Buffer.alloc(0)
    let settled = false
    const finish = (error: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ answers, error })
    }
    const timer = setTimeout(() => finish("client-timeout"), timeoutMs)
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
      for (;;) {
        let parsed: Parsed | undefined
        try {
          parsed = parseResponse(buffer)
        } catch (e) {
          return finish(`bad-response: ${String(e)}`)
        }
        if (parsed === undefined) return
        answers.push({ status: parsed.status, body: parsed.body })
        buffer = buffer.subarray(parsed.used)
        if (answers.length === requests.length) return finish(undefined)
      }
    })
    socket.on("error", (e) => finish(codeOf(e)))
    socket.on("close", () => finish("closed-without-answer"))
    socket.write(Buffer.concat(requests))
  })
}
