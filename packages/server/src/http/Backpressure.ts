/**
 * Back-pressure per connection, for clients that pipeline requests and do not read the answers.
 *
 * Node's HTTP server hands every pipelined request it parses to the handler at once and keeps the
 * answers in memory until the client reads them: one connection that writes 20,000 `GET /metrics`
 * and never reads made the server build and hold all 20,000 answers (tens of megabytes, held until
 * the client read, and the connection stayed open). Node's own pause applies only once the socket
 * already needs draining, and the answers of requests handled meanwhile still pile up.
 *
 * Here each connection gets a gate in front of the handler:
 * - at most `maxActive` of its requests are handled at once (answers of pipelined requests still
 *   go out in order: Node writes them in request order);
 * - no request of it is started while its unsent data (`socket.writableLength`) is at or over
 *   `maxUnsentBytes`;
 * - a request that cannot start waits in the gate, and the connection is read no further (the
 *   socket is paused the way Node pauses it, so its parser stops and TCP flow control pushes back
 *   on the client) until the gate is empty again; waiting requests start on the next turn of the
 *   event loop, so one connection's pipeline cannot keep the server from its other connections;
 * - while unsent data is waiting and none of it is taken by the client for `writeTimeoutMs`, the
 *   connection is closed.
 *
 * A client that reads its answers sees no difference: pipelining keeps working, in order.
 *
 * What stays unbounded by this gate: the requests Node parses from the chunk it is reading when the
 * socket pauses (at most one read of 64 KiB), which wait in the gate.
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import type * as Net from "node:net"

/**
 * The bounds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests of one connection handled at once. */
  readonly maxActive: number
  /** Unsent bytes of one connection at or over which none of its requests starts. */
  readonly maxUnsentBytes: number
  /** A connection whose unsent data makes no progress for this long is closed. */
  readonly writeTimeoutMs: number
}

/**
 * The defaults: 8 requests handled at once per connection, 256 KiB of unsent data.
 *
 * @since 0.1.0
 * @category models
 */
export const defaults: Omit<Options, "writeTimeoutMs"> = { maxActive: 8, maxUnsentBytes: 256 * 1024 }

/** Node's own fields for pausing a consumed socket (`_http_server.js`): see `Gate.pause`. */
interface SocketInternals {
  _paused?: boolean
  parser?: { resume(): void } | null
}

type Event = "request" | "checkContinue"

interface Waiting {
  readonly event: Event
  readonly request: Http.IncomingMessage
  readonly response: Http.ServerResponse
}

const kGate = Symbol.for("adabatch/Backpressure/Gate")

/** Progress of the socket's writes: bytes the kernel has taken. */
const flushed = (socket: Net.Socket): number => socket.bytesWritten - socket.writableLength

class Gate {
  active = 0
  readonly waiting: Array<Waiting> = []
  /** The gate paused the socket (and keeps it paused while it has requests waiting). */
  paused = false
  /** `startWaiting` is due on the next turn. */
  private scheduled = false
  private watchdog: ReturnType<typeof setInterval> | undefined = undefined
  private lastFlushed = 0
  private lastProgress = 0

  constructor(
    readonly socket: Net.Socket,
    readonly start: (w: Waiting) => void,
    readonly options: Options
  ) {
    socket.on("resume", this.onResume)
    socket.on("drain", this.pump)
    socket.once("close", this.onClose)
  }

  canStart(): boolean {
    return this.active < this.options.maxActive && this.socket.writableLength < this.options.maxUnsentBytes
  }

  admit(w: Waiting): void {
    if (this.waiting.length === 0 && this.canStart()) return this.run(w)
    this.waiting.push(w)
    this.pause()
  }

  private run(w: Waiting): void {
    this.active++
    let ended = false
    // `close` follows `finish` (on the next tick), and also comes alone when the connection dies.
    w.response.once("close", () => {
      if (ended) return
      ended = true
      this.active--
      this.pump()
    })
    this.start(w)
  }

  /**
   * After an answer or a drain: starts what may start, on the next turn of the event loop (so a
   * connection with many requests waiting takes turns with the others instead of running them
   * all back to back).
   */
  readonly pump = (): void => {
    if (this.scheduled || this.socket.destroyed) return
    if (this.waiting.length === 0) return this.settle()
    this.scheduled = true
    setImmediate(this.startWaiting)
  }

  private readonly startWaiting = (): void => {
    this.scheduled = false
    if (this.socket.destroyed) return
    while (this.waiting.length > 0 && this.canStart()) this.run(this.waiting.shift()!)
    this.settle()
  }

  /** Reads on when nothing waits; watches a connection whose answers wait. */
  private settle(): void {
    if (this.waiting.length === 0 && this.paused) this.unpause()
    if (this.socket.writableLength >= this.options.maxUnsentBytes || this.waiting.length > 0) this.watch()
  }

  /**
   * Pauses reading as Node's HTTP server does for its own back-pressure: with `_paused` set, Node
   * also pauses the parser after the chunk it is parsing, and `socket.pause()` stops the handle
   * from reading (the parser consumes the handle directly, so a plain `pause()` alone would not).
   */
  private pause(): void {
    this.paused = true
    ;(this.socket as SocketInternals)._paused = true
    this.socket.pause()
  }

  private unpause(): void {
    this.paused = false
    const socket = this.socket as Net.Socket & SocketInternals
    socket._paused = false
    socket.parser?.resume()
    socket.resume()
  }

  /** Node resumes a socket it paused once it drains; while requests wait here, it stays paused. */
  private readonly onResume = (): void => {
    if (this.paused) this.pause()
  }

  private watch(): void {
    if (this.watchdog !== undefined) return
    this.lastFlushed = flushed(this.socket)
    this.lastProgress = performance.now()
    const tick = Math.max(50, Math.min(1000, this.options.writeTimeoutMs / 4))
    this.watchdog = setInterval(this.check, tick)
    this.watchdog.unref()
  }

  private readonly check = (): void => {
    const socket = this.socket
    const now = performance.now()
    if (socket.destroyed) return this.unwatch()
    const unsent = socket.writableLength
    const done = flushed(socket)
    // Nothing unsent is nothing to wait for (requests may wait on slow handlers, not on the client).
    if (unsent === 0 || done > this.lastFlushed) {
      this.lastFlushed = done
      this.lastProgress = now
    }
    if (unsent === 0 && this.waiting.length === 0) return this.unwatch()
    if (now - this.lastProgress >= this.options.writeTimeoutMs) socket.destroy()
  }

  private unwatch(): void {
    clearInterval(this.watchdog)
    this.watchdog = undefined
  }

  private readonly onClose = (): void => {
    this.unwatch()
    this.waiting.length = 0
    this.socket.off("resume", this.onResume)
    this.socket.off("drain", this.pump)
  }
}

/**
 * Puts a gate in front of `server`'s request handlers (the `request` and `checkContinue` events),
 * one per connection. Install it before the handlers are attached or after: it wraps the emitter.
 *
 * @since 0.1.0
 * @category constructors
 */
type Emit = (this: Http.Server, event: string | symbol, ...args: Array<unknown>) => boolean

export const install = (server: Http.Server, options: Options): void => {
  const emit = server.emit as Emit
  const start = (w: Waiting): void => void emit.call(server, w.event, w.request, w.response)
  const admit = (event: Event, request: Http.IncomingMessage, response: Http.ServerResponse): boolean => {
    const socket = request.socket as Net.Socket & { [kGate]?: Gate }
    const gate = socket[kGate] ??= new Gate(socket, start, options)
    gate.admit({ event, request, response })
    return true
  }
  const gated: Emit = function(event, ...args) {
    if ((event === "request" || event === "checkContinue") && this.listenerCount(event) > 0) {
      return admit(event, args[0] as Http.IncomingMessage, args[1] as Http.ServerResponse)
    }
    return emit.call(this, event, ...args)
  }
  server.emit = gated as Http.Server["emit"]
}
