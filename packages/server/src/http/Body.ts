/**
 * Reading a request body with every bound a hostile client could test:
 *
 * - a size limit (`ADABATCH_PAYLOAD_LIMIT`) on the bytes received and, for a body sent with a
 *   `Content-Encoding` (`gzip`, `deflate`, `br`, or several of them), on the decoded bytes too.
 *   Decoding is streamed and stops at the limit, so a zip bomb (1 GiB of zeros in a 1 MB gzip
 *   body) costs the limit in memory, not a gigabyte;
 * - a time limit (`ADABATCH_BODY_TIMEOUT_MS`): a body that arrives too slowly fails, so a slow
 *   client cannot hold a handler for minutes;
 * - the budget of bytes in flight (`InflightBytes`): the request's reservation grows with the bytes
 *   held, and the read fails once the budget is spent (chunked bodies, decoded bodies).
 *
 * Bytes are read straight from Node's `IncomingMessage` (no Effect stream per request); a read
 * that fails stops listening and leaves the rest of the body to the HTTP adapter, which discards it
 * after the answer (or closes the connection).
 *
 * @since 0.1.0
 */
import { BatchError } from "@adabatch/core"
import { Effect } from "effect"
import type { Readable, Transform } from "node:stream"
import * as Zlib from "node:zlib"
import type { Reservation } from "./InflightBytes.js"

/**
 * A content coding this server decodes.
 *
 * @since 0.1.0
 * @category models
 */
export type Coding = "gzip" | "deflate" | "br"

/**
 * Why a body could not be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyError extends BatchError.Outcome("BodyError")<{
  /**
   * `TooLarge`: more bytes than the limit were sent; `DecodedTooLarge`: the decoded body is larger
   * than the limit; `OverBudget`: the budget of bytes in flight is spent; `Timeout`: the body did
   * not arrive in time; `BadEncoding`: the body is not valid data of its `Content-Encoding`;
   * `Aborted`: the client went away.
   */
  readonly reason: "TooLarge" | "DecodedTooLarge" | "OverBudget" | "Timeout" | "BadEncoding" | "Aborted"
  readonly detail?: string | undefined
}> {}

/** The most codings one body may stack (`gzip, br` is two). */
const maxCodings = 4

/**
 * The codings of a `Content-Encoding` header, in the order they must be undone (the last applied
 * first); `identity` is dropped. An unknown coding is returned as `unsupported`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const codings = (
  header: string | undefined
): { readonly codings: ReadonlyArray<Coding> } | { readonly unsupported: string } => {
  if (header === undefined) return { codings: [] }
  const out: Array<Coding> = []
  for (const raw of header.split(",")) {
    const name = raw.trim().toLowerCase()
    if (name === "" || name === "identity") continue
    if (name === "gzip" || name === "x-gzip") out.push("gzip")
    else if (name === "deflate" || name === "br") out.push(name)
    else return { unsupported: raw.trim() }
  }
  if (out.length > maxCodings) return { unsupported: header }
  return { codings: out.reverse() }
}

const decoder = (coding: Coding): Transform =>
  coding === "gzip"
    ? Zlib.createGunzip()
    : coding === "deflate"
    ? Zlib.createInflate()
    : Zlib.createBrotliDecompress()

/**
 * How to read one body.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Most bytes received, and most bytes once decoded. */
  readonly limit: number
  readonly timeoutMs: number
  /** From `codings`: decoded in this order. */
  readonly codings: ReadonlyArray<Coding>
  /** Grown to the bytes held as they arrive. */
  readonly reservation: Reservation
  /**
   * The `Content-Length`, if any: a body that arrives in several chunks is then copied into one
   * buffer of that size as it arrives, instead of keeping the chunks and concatenating them at the
   * end (which holds the body twice).
   */
  readonly length?: number | undefined
}

/** One read in progress: listeners on the source (and the decoders), a timer, the chunks. */
class Reader {
  private readonly chunks: Array<Buffer> = []
  /** The body, when its length is known and it came in several chunks. */
  private whole: Buffer | undefined = undefined
  private held = 0
  private received = 0
  private wireEnded = false
  private done = false
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly decoders: ReadonlyArray<Transform>

  constructor(
    private readonly source: Readable,
    private readonly options: ReadOptions,
    private readonly resume: (effect: Effect.Effect<Uint8Array, BodyError>) => void
  ) {
    this.timer = setTimeout(this.onTimeout, options.timeoutMs)
    this.decoders = options.codings.map(decoder)
    for (let i = 0; i < this.decoders.length; i++) {
      const d = this.decoders[i]!
      d.on("error", this.onBadEncoding)
      if (i + 1 < this.decoders.length) d.pipe(this.decoders[i + 1]!)
    }
    const tail = this.decoders.at(-1)
    tail?.on("data", this.onBytes)
    tail?.on("end", this.onEnd)
    source.on("data", this.onWire)
    source.on("end", this.onWireEnd)
    source.on("error", this.onAborted)
    source.on("close", this.onClose)
  }

  /** Stops reading: the listeners go, the decoders are destroyed. */
  stop(): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    const source = this.source
    source.off("data", this.onWire)
    source.off("end", this.onWireEnd)
    source.off("error", this.onAborted)
    source.off("close", this.onClose)
    for (const d of this.decoders) d.destroy()
  }

  private fail(reason: BodyError["reason"], detail?: string): void {
    if (this.done) return
    this.stop()
    this.resume(Effect.fail(new BodyError({ reason, detail })))
  }

  private readonly onWire = (chunk: Buffer): void => {
    this.received += chunk.length
    if (this.received > this.options.limit) return this.fail("TooLarge")
    const head = this.decoders[0]
    if (head === undefined) return this.onBytes(chunk)
    if (!head.write(chunk)) {
      this.source.pause()
      head.once("drain", () => this.done || this.source.resume())
    }
  }

  /** Body bytes as they will be parsed (decoded, if the body was encoded). */
  private readonly onBytes = (chunk: Buffer): void => {
    this.held += chunk.length
    if (this.held > this.options.limit) return this.fail(this.decoders.length === 0 ? "TooLarge" : "DecodedTooLarge")
    if (!this.options.reservation.grow(this.held)) return this.fail("OverBudget")
    const length = this.decoders.length === 0 ? this.options.length : undefined
    if (length === undefined || (this.whole === undefined && chunk.length === this.held && this.held === length)) {
      return void this.chunks.push(chunk)
    }
    if (this.held > length) return this.fail("TooLarge") // Node's parser never gives more
    this.whole ??= Buffer.allocUnsafe(length)
    chunk.copy(this.whole, this.held - chunk.length)
  }

  private readonly onWireEnd = (): void => {
    this.wireEnded = true
    const head = this.decoders[0]
    if (head === undefined) this.onEnd()
    else head.end()
  }

  private readonly onEnd = (): void => {
    if (this.done) return
    const chunks = this.chunks
    const body = this.whole !== undefined
      ? this.whole.subarray(0, this.held)
      : chunks.length === 1
      ? chunks[0]!
      : Buffer.concat(chunks, this.held)
    this.stop()
    this.resume(Effect.succeed(body))
  }

  private readonly onTimeout = (): void => this.fail("Timeout")

  private readonly onBadEncoding = (e: Error): void => this.fail("BadEncoding", e.message)

  private readonly onAborted = (e: Error): void => this.fail("Aborted", e.message)

  private readonly onClose = (): void => {
    if (!this.wireEnded) this.fail("Aborted", "the connection closed before the body was complete")
  }
}

/**
 * Reads a whole body (see the module doc for its bounds). Interrupting the read stops it.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (source: Readable, options: ReadOptions): Effect.Effect<Uint8Array, BodyError> =>
  Effect.callback<Uint8Array, BodyError>((resume) => {
    const reader = new Reader(source, options, resume)
    return Effect.sync(() => reader.stop())
  })

/**
 * Reads and drops the rest of a body, holding none of it, for at most `timeoutMs`. Used before an
 * answer that closes the connection: closing with unread input makes the kernel reset the
 * connection, and the client could lose the answer.
 *
 * @since 0.1.0
 * @category reading
 */
export const discard = (source: Readable, timeoutMs: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (source.readableEnded || source.destroyed) return resume(Effect.void)
    let timer: ReturnType<typeof setTimeout> | undefined = undefined
    const done = () => {
      clearTimeout(timer)
      source.off("end", done)
      source.off("close", done)
      source.off("error", done)
      resume(Effect.void)
    }
    timer = setTimeout(done, timeoutMs)
    source.on("end", done)
    source.on("close", done)
    source.on("error", done)
    source.resume()
    return Effect.sync(() => {
      clearTimeout(timer)
      source.off("end", done)
      source.off("close", done)
      source.off("error", done)
    })
  })
