/**
 * The server's lifecycle, shared by the routes and the start-up / shutdown logic: `loading` until
 * the model and engine are up, `ready` while serving, `draining` from SIGTERM/SIGINT on. It also
 * counts the requests being handled, so shutdown can wait until each has its answer.
 *
 * @since 0.1.0
 */
import type { Embedder } from "@adabatch/core"
import { Deferred, Effect } from "effect"

/**
 * The lifecycle phase.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase =
  | { readonly _tag: "Loading" }
  | { readonly _tag: "Ready"; readonly embedder: Embedder.Embedder["Service"] }
  | { readonly _tag: "Draining" }

/**
 * Mutable, owned by one server; read on every request, so plain fields rather than Refs.
 *
 * @since 0.1.0
 * @category models
 */
export class ServerState {
  phase: Phase = { _tag: "Loading" }
  /** Requests being handled. */
  inFlight = 0
  /** Embedding requests being handled (bounded by `maxConcurrentRequests`). */
  embedding = 0
  /**
   * While draining, answers ask the client to close its connection, except while this is set:
   * shutdown sets it once the engine has drained, so that clients stop reconnecting and the accept
   * backlog empties before the listener closes (closing it resets the connections still in it).
   */
  holdConnections = false
  private idle: Deferred.Deferred<void> | undefined

  /** Whether answers now keep their connection open: serving, or draining with `holdConnections`. */
  keepsConnections(): boolean {
    return this.phase._tag === "Ready" || (this.phase._tag === "Draining" && this.holdConnections)
  }

  /** Marks a request as started. */
  enter(): void {
    this.inFlight++
  }

  /** Marks a request as answered. */
  leave(): void {
    this.inFlight--
    if (this.inFlight === 0 && this.idle !== undefined) {
      Deferred.doneUnsafe(this.idle, Effect.void)
      this.idle = undefined
    }
  }

  /** Completes when no request is being handled. */
  readonly awaitIdle: Effect.Effect<void> = Effect.suspend(() => {
    if (this.inFlight === 0) return Effect.void
    this.idle ??= Deferred.makeUnsafe<void>()
    return Deferred.await(this.idle)
  })
}
