/**
 * The server's open connections, and closing them at shutdown without resetting any.
 *
 * A keep-alive connection is never closed while a request on it is in progress, nor while its
 * client may be writing the next one: at shutdown an idle connection is closed only once it has
 * been quiet (no request, no answer) for `quietMs`. A client that sends its next request right
 * after an answer therefore gets that request answered (503 and `Connection: close` while the
 * server drains), not a reset it cannot tell from a lost request. The close is a half-close
 * (`socket.end()`: FIN after the pending output), and the connection is read until the client
 * closes its side, so bytes the client sent meanwhile are read and dropped, never answered with a
 * TCP reset.
 *
 * This is the keep-alive race every HTTP server has at shutdown; `server.closeIdleConnections()`
 * destroys idle sockets at once and loses it.
 *
 * @example
 * ```ts
 * import * as Http from "node:http"
 * import { Effect } from "effect"
 * import * as OpenConnections from "./OpenConnections.js"
 *
 * const node = Http.createServer()
 * const connections = OpenConnections.track(node)
 * // at shutdown, once no new work is taken:
 * const closeAll = OpenConnections.closeGracefully(connections, { quietMs: 1000, graceMs: 5000 })
 * Effect.runFork(closeAll)
 * ```
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import type * as Http from "node:http"
import type * as Net from "node:net"

/** One connection's activity. */
interface Activity {
  /** Requests received and not yet answered (more than one when pipelined). */
  active: number
  /** When the last request ended, or when the connection was accepted (`performance.now()`). */
  quietSince: number
  /** Half-closed by the server. */
  ending: boolean
}

/**
 * The open connections of one HTTP server, with what each is doing.
 *
 * @since 0.2.0
 * @category models
 */
export interface OpenConnections {
  /** When the last connection was accepted (`performance.now()`; `-Infinity` before the first). */
  readonly lastArrival: () => number
  /** Connections open now. */
  readonly open: () => number
  /** The connections open now, with their activity. */
  readonly entries: () => IterableIterator<[Net.Socket, Activity]>
}

/**
 * Starts tracking the connections of `server`: call it before the server listens.
 *
 * @since 0.2.0
 * @category constructors
 */
export const track = (server: Http.Server): OpenConnections => {
  const connections = new Map<Net.Socket, Activity>()
  let lastArrival = Number.NEGATIVE_INFINITY
  server.on("connection", (socket: Net.Socket) => {
    lastArrival = performance.now()
    connections.set(socket, { active: 0, quietSince: performance.now(), ending: false })
    socket.once("close", () => connections.delete(socket))
  })
  server.on("request", (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    const activity = connections.get(request.socket)
    if (activity === undefined) return
    activity.active++
    response.once("close", () => {
      activity.active--
      activity.quietSince = performance.now()
    })
  })
  return {
    lastArrival: () => lastArrival,
    open: () => connections.size,
    entries: () => connections.entries()
  }
}

/**
 * Half-closes `socket`: the pending output is sent, then a FIN; what the client still sends is read
 * and dropped, and the socket is destroyed once the client closes its side (or after `lingerMs`).
 */
const halfClose = (socket: Net.Socket, lingerMs: number): void => {
  socket.end()
  socket.resume()
  const timer = setTimeout(() => socket.destroy(), lingerMs)
  timer.unref()
  socket.once("close", () => clearTimeout(timer))
}

/** Checks of the connections while closing them. */
const pollMs = 20

/**
 * Waits until no connection has arrived for `quietMs` (at most `graceMs`). Node accepts about one
 * connection per event-loop turn while it is busy, and closing the listener resets the connections
 * still in the kernel's accept backlog: wait for this before closing it.
 *
 * @since 0.2.0
 * @category destructors
 */
export const awaitNoArrivals = (
  connections: OpenConnections,
  options: { readonly quietMs: number; readonly graceMs: number }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = performance.now() + options.graceMs
    while (performance.now() < deadline && performance.now() - connections.lastArrival() < options.quietMs) {
      yield* Effect.sleep(pollMs)
    }
  })

/**
 * Closes every connection without resetting one: each idle connection once it has been quiet for
 * `quietMs`, the others as soon as their answers are sent and they have been quiet as long (a
 * response with `Connection: close` makes Node close its connection itself). After `graceMs`
 * whatever is still open is destroyed. Call it once the server takes no new work and its
 * listener is closed.
 *
 * @since 0.2.0
 * @category destructors
 */
export const closeGracefully = (
  connections: OpenConnections,
  options: { readonly quietMs: number; readonly graceMs: number }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = performance.now() + options.graceMs
    while (connections.open() > 0 && performance.now() < deadline) {
      const now = performance.now()
      for (const [socket, activity] of connections.entries()) {
        if (activity.ending || activity.active > 0 || now - activity.quietSince < options.quietMs) continue
        activity.ending = true
        halfClose(socket, Math.max(0, deadline - now))
      }
      yield* Effect.sleep(pollMs)
    }
    for (const [socket] of connections.entries()) socket.destroy()
  })
