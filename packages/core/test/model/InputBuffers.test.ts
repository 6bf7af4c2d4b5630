import { assert, describe, it } from "@effect/vitest"
import type { Encoded } from "../../src/model/EmbeddingModel.js"
import * as InputBuffers from "../../src/model/onnx/InputBuffers.js"

const encoded = (...ids: Array<number>): Encoded => ({ ids: Int32Array.from(ids), truncated: false })

const rows = (buffer: ArrayBuffer, batch: number, seq: number) => {
  const values = Array.from(new BigInt64Array(buffer, 0, batch * seq), Number)
  return Array.from({ length: batch }, (_, r) => values.slice(r * seq, (r + 1) * seq))
}

describe("InputBuffers.pack", () => {
  it("pads to the longest input of the batch, with a 1/0 attention mask and zero token types", () => {
    const pool = InputBuffers.makePool({ reuse: true, withTypes: true, maxPerClass: 2 })
    const packed = InputBuffers.pack(pool, [encoded(2, 10, 3), encoded(2, 11, 12, 13, 3), encoded(2, 3)], 0)
    assert.strictEqual(packed.batch, 3)
    assert.strictEqual(packed.seq, 5)
    assert.strictEqual(packed.tokens, 10)
    assert.deepStrictEqual(rows(packed.set.ids, 3, 5), [[2, 10, 3, 0, 0], [2, 11, 12, 13, 3], [2, 3, 0, 0, 0]])
    assert.deepStrictEqual(rows(packed.set.mask, 3, 5), [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    assert.deepStrictEqual(rows(packed.set.types!, 3, 5), [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
  })

  it("uses the pad id, keeps negative and large ids exact, gives all-empty batches one masked column", () => {
    const pool = InputBuffers.makePool({ reuse: true, withTypes: false, maxPerClass: 2 })
    const packed = InputBuffers.pack(pool, [encoded(5), encoded(-1, 2_000_000_000)], 7)
    assert.deepStrictEqual(rows(packed.set.ids, 2, 2), [[5, 7], [-1, 2_000_000_000]])
    assert.isUndefined(packed.set.types)
    const empty = InputBuffers.pack(pool, [encoded(), encoded()], 0)
    assert.strictEqual(empty.seq, 1)
    assert.deepStrictEqual(rows(empty.set.mask, 2, 1), [[0], [0]])
  })

  it("reused buffers are fully rewritten (no stale ids or mask bits)", () => {
    const pool = InputBuffers.makePool({ reuse: true, withTypes: true, maxPerClass: 2 })
    const first = InputBuffers.pack(pool, [encoded(1, 2, 3, 4, 5, 6), encoded(7, 8, 9, 10, 11, 12)], 0)
    pool.release(first.set)
    const second = InputBuffers.pack(pool, [encoded(20, 21), encoded(22, 23, 24)], 0)
    assert.strictEqual(second.set.ids, first.set.ids, "the same buffer is reused")
    assert.strictEqual(second.allocatedBytes, 0)
    assert.deepStrictEqual(rows(second.set.ids, 2, 3), [[20, 21, 0], [22, 23, 24]])
    assert.deepStrictEqual(rows(second.set.mask, 2, 3), [[1, 1, 0], [1, 1, 1]])
  })
})

describe("InputBuffers.makePool", () => {
  it("with reuse, a steady stream of batches allocates once per capacity class and concurrent batch", () => {
    const pool = InputBuffers.makePool({ reuse: true, withTypes: true, maxPerClass: 2 })
    for (let i = 0; i < 100; i++) {
      const a = pool.acquire(64 * (1 + (i % 3)))
      const b = pool.acquire(200)
      pool.release(a.set)
      pool.release(b.set)
    }
    const stats = pool.stats()
    assert.strictEqual(stats.acquired, 200)
    assert.strictEqual(stats.allocated, 2) // both fit the 256-element class; two in flight at once
    assert.strictEqual(stats.allocatedBytes, 2 * 3 * 256 * 8)
    assert.strictEqual(stats.pooled, 2)
  })

  it("without reuse, every batch allocates exact-size buffers", () => {
    const pool = InputBuffers.makePool({ reuse: false, withTypes: false, maxPerClass: 2 })
    for (let i = 0; i < 10; i++) pool.release(pool.acquire(100).set)
    assert.deepStrictEqual(pool.stats(), {
      reuse: false,
      acquired: 10,
      allocated: 10,
      allocatedBytes: 10 * 2 * 100 * 8,
      pooled: 0
    })
  })

  it("keeps at most maxPerClass sets per class and ignores detached buffers", () => {
    const pool = InputBuffers.makePool({ reuse: true, withTypes: false, maxPerClass: 1 })
    const sets = [pool.acquire(10).set, pool.acquire(10).set, pool.acquire(10).set]
    for (const set of sets) pool.release(set)
    assert.strictEqual(pool.stats().pooled, 1)
    const detached = pool.acquire(10).set
    structuredClone(detached.ids, { transfer: [detached.ids] })
    pool.release(detached)
    assert.strictEqual(pool.stats().pooled, 0)
  })
})
