/**
 * An unbounded first-in first-out queue that can be peeked at, with an effect that waits until it
 * is non-empty. Used by the baselines whose batching rule must look at the next entry before
 * taking it (a token budget).
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit } from "effect"

/**
 * The queue.
 *
 * @since 0.1.0
 * @category models
 */
export class Fifo<A> {
  private items: Array<A> = []
  private head = 0
  private waiter: Deferred.Deferred<void> | undefined

  /** Entries waiting. */
  get size(): number {
    return this.items.length - this.head
  }

  /** Appends an entry and wakes a waiting consumer. */
  push(item: A): void {
    this.items.push(item)
    const w = this.waiter
    if (w !== undefined) {
      this.waiter = undefined
      Deferred.doneUnsafe(w, Exit.void)
    }
  }

  /** The oldest entry, left in place; `undefined` when empty. */
  peek(): A | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  /** Removes and returns the oldest entry; `undefined` when empty. */
  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]!
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** Succeeds once at least one entry is waiting. */
  readonly waitNonEmpty: Effect.Effect<void> = Effect.suspend(() => {
    if (this.size > 0) return Effect.void
    if (this.waiter === undefined) this.waiter = Deferred.makeUnsafe<void>()
    return Deferred.await(this.waiter)
  })
}
