/**
 * A minimal HTTP/1.1 keep-alive client on raw sockets, used as the load generator.
 *
 * `node:http`'s client costs several times more CPU per request than a bare `node:http` server
 * spends answering it, so on a 2-core machine it would be the bottleneck of every transport
 * measurement. This client writes pre-encoded requests (`Http1.encodeRequest`) and reads
 * each answer with `Http1.parseResponse` from one buffer kept per connection (listeners and
 * buffers live as long as the connection, nothing is set up per request). One request at a time per
 * connection (no pipelining), as real clients do. For exact bytes and per-exchange outcomes, see
 * `RawHttp`.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"
import { HttpClientError, parseResponse } from "./Http1.js"

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
        parsed = parseResponse(buffer, { unframed: "empty", headers: false })
      } catch (e) {
        failPending(e instanceof HttpClientError ? e.reason : String(e))
        socket.destroy()
        return
      }
      if (parsed === undefined) return
      buffer = buffer.length === parsed.used ? Buffer.alloc(0) : buffer.subarray(parsed.used)
      const p = pending
      pending = undefined
      // the parser copied the body out of the socket buffer, which is reused
      p.resolve({ status: parsed.status, body: parsed.body })
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
