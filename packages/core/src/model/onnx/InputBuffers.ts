/**
 * Int64 input tensors for a batch: packing tokenized inputs (padded to the longest one in the
 * batch, never to the maximum length) into `input_ids` / `attention_mask` / `token_type_ids`
 * buffers, and a small pool that reuses those buffers across batches.
 *
 * The buffers are transferred to a worker with the batch and transferred back with its reply, so
 * with reuse on, a steady stream of batches allocates no new input memory. With reuse off, every
 * batch allocates exact-size buffers (the baseline the bench compares against).
 *
 * @since 0.1.0
 */
import { endianness } from "node:os"
import type { Encoded } from "../EmbeddingModel.js"

/**
 * The three input buffers of one batch (bytes of `BigInt64Array`s). `capacity` is in elements.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputBufferSet {
  readonly ids: ArrayBuffer
  readonly mask: ArrayBuffer
  /** Present when the model takes `token_type_ids` (all zeros). */
  readonly types: ArrayBuffer | undefined
  readonly capacity: number
}

/**
 * Allocation counters of a pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputBufferStats {
  readonly reuse: boolean
  /** Buffer sets handed out (one per batch). */
  readonly acquired: number
  /** Of those, how many were newly allocated. */
  readonly allocated: number
  readonly allocatedBytes: number
  /** Buffer sets waiting in the pool. */
  readonly pooled: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface InputBufferPool {
  readonly acquire: (elements: number) => { readonly set: InputBufferSet; readonly allocatedBytes: number }
  /** Gives a set back (after the worker returned it). Ignored when reuse is off. */
  readonly release: (set: InputBufferSet) => void
  readonly stats: () => InputBufferStats
}

/**
 * @since 0.1.0
 * @category models
 */
export interface InputBufferPoolOptions {
  /** Reuse buffers across batches (default true). */
  readonly reuse: boolean
  /** Whether batches need a `token_type_ids` buffer. */
  readonly withTypes: boolean
  /** Sets kept per capacity class; more are dropped (garbage-collected). */
  readonly maxPerClass: number
}

const MIN_CAPACITY = 256

const capacityClass = (elements: number): number => {
  let capacity = MIN_CAPACITY
  while (capacity < elements) capacity *= 2
  return capacity
}

/**
 * Creates a pool. Buffers are pooled by capacity class (powers of two, at least 256 elements).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePool = (options: InputBufferPoolOptions): InputBufferPool => {
  const free = new Map<number, Array<InputBufferSet>>()
  let acquired = 0
  let allocated = 0
  let allocatedBytes = 0
  let pooled = 0
  const allocate = (capacity: number): InputBufferSet => {
    allocated++
    allocatedBytes += capacity * 8 * (options.withTypes ? 3 : 2)
    return {
      ids: new ArrayBuffer(capacity * 8),
      mask: new ArrayBuffer(capacity * 8),
      types: options.withTypes ? new ArrayBuffer(capacity * 8) : undefined,
      capacity
    }
  }
  return {
    acquire: (elements) => {
      acquired++
      const before = allocatedBytes
      if (!options.reuse) {
        const set = allocate(elements)
        return { set, allocatedBytes: allocatedBytes - before }
      }
      const capacity = capacityClass(elements)
      const set = free.get(capacity)?.pop()
      if (set !== undefined) {
        pooled--
        return { set, allocatedBytes: 0 }
      }
      return { set: allocate(capacity), allocatedBytes: allocatedBytes - before }
    },
    release: (set) => {
      if (!options.reuse || set.ids.byteLength === 0) return
      const list = free.get(set.capacity)
      if (list === undefined) {
        free.set(set.capacity, [set])
        pooled++
      } else if (list.length < options.maxPerClass) {
        list.push(set)
        pooled++
      }
    },
    stats: () => ({ reuse: options.reuse, acquired, allocated, allocatedBytes, pooled })
  }
}

/**
 * A batch packed into input buffers.
 *
 * @since 0.1.0
 * @category models
 */
export interface PackedBatch {
  readonly batch: number
  /** Length of the longest input: every row is padded to it. */
  readonly seq: number
  readonly set: InputBufferSet
  /** Real tokens (sum of the inputs' lengths). */
  readonly tokens: number
  /** Bytes newly allocated for this batch (0 when the buffers were reused). */
  readonly allocatedBytes: number
}

const littleEndian = endianness() === "LE"

/**
 * Packs a batch: row `r` holds input `r`'s ids followed by `padId` up to the longest input, the
 * attention mask is 1 over real tokens and 0 over padding, `token_type_ids` are zeros. A batch of
 * empty inputs still gets one (masked) column.
 *
 * @since 0.1.0
 * @category packing
 */
export const pack = (pool: InputBufferPool, batch: ReadonlyArray<Encoded>, padId: number): PackedBatch => {
  let seq = 1
  let tokens = 0
  for (const input of batch) {
    const length = input.ids.length
    tokens += length
    if (length > seq) seq = length
  }
  const n = batch.length * seq
  const { allocatedBytes, set } = pool.acquire(n)
  if (littleEndian) {
    // Write the int64s as (low, high) int32 pairs: no BigInt per token.
    const ids = new Int32Array(set.ids, 0, 2 * n)
    const mask = new Int32Array(set.mask, 0, 2 * n)
    mask.fill(0)
    const padHigh = padId < 0 ? -1 : 0
    for (let r = 0; r < batch.length; r++) {
      const row = batch[r]!.ids
      let k = 2 * r * seq
      for (let j = 0; j < row.length; j++, k += 2) {
        const id = row[j]!
        ids[k] = id
        ids[k + 1] = id < 0 ? -1 : 0
        mask[k] = 1
      }
      for (let j = row.length; j < seq; j++, k += 2) {
        ids[k] = padId
        ids[k + 1] = padHigh
      }
    }
    if (set.types !== undefined) new Int32Array(set.types, 0, 2 * n).fill(0)
  } else {
    const ids = new BigInt64Array(set.ids, 0, n)
    const mask = new BigInt64Array(set.mask, 0, n)
    const pad = BigInt(padId)
    for (let r = 0; r < batch.length; r++) {
      const row = batch[r]!.ids
      for (let j = 0; j < seq; j++) {
        ids[r * seq + j] = j < row.length ? BigInt(row[j]!) : pad
        mask[r * seq + j] = j < row.length ? 1n : 0n
      }
    }
    if (set.types !== undefined) new BigInt64Array(set.types, 0, n).fill(0n)
  }
  return { batch: batch.length, seq, set, tokens, allocatedBytes }
}

/**
 * Whether any input of the batch contains `tokenId` (fault injection).
 *
 * @since 0.1.0
 * @category packing
 */
export const containsToken = (batch: ReadonlyArray<Encoded>, tokenId: number): boolean =>
  batch.some((input) => input.ids.includes(tokenId))
