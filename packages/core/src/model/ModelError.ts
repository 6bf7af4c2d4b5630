/**
 * Typed errors of the model area: loading a model directory, tokenizing, running inference.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * A model directory could not be loaded (missing file, unreadable ONNX, unsupported inputs or
 * outputs, bad config). Raised when the model Layer is built, never at the first request.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelLoadError extends Data.TaggedError("ModelLoadError")<{
  /** The file or directory at fault. */
  readonly path: string
  /** What is wrong with it, in words a user can act on. */
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `cannot load model from ${this.path}: ${this.reason}`
  }
}

/**
 * A text is longer than the model's maximum input length and truncation was not requested.
 *
 * @since 0.1.0
 * @category errors
 */
export class InputTooLong extends Data.TaggedError("InputTooLong")<{
  /** Position of the text in the request's input list. */
  readonly index: number
  /** Its length in tokens, special tokens included (a lower bound when `atLeast`). */
  readonly tokens: number
  /** The model's maximum input length in tokens. */
  readonly maxLength: number
  /** Only a prefix of a very long text was tokenized: it has at least `tokens` tokens. */
  readonly atLeast?: boolean | undefined
}> {
  override get message(): string {
    return `input ${this.index} has ${this.atLeast === true ? "at least " : ""}${this.tokens} tokens, more than ` +
      `the model's maximum of ${this.maxLength}; send truncate: true to cut it`
  }
}

/**
 * The tokenizer rejected a text.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenizationFailed extends Data.TaggedError("TokenizationFailed")<{
  readonly index: number
  readonly reason: string
}> {
  override get message(): string {
    return `cannot tokenize input ${this.index}: ${this.reason}`
  }
}

/**
 * Inference failed for a batch: the session threw, or the worker running it crashed (it is
 * replaced automatically; only the batch in flight on it fails).
 *
 * @since 0.1.0
 * @category errors
 */
export class InferenceFailed extends Data.TaggedError("InferenceFailed")<{
  readonly reason: string
  /** Index of the worker that ran (or was running) the batch. */
  readonly worker?: number
  readonly cause?: unknown
}> {
  override get message(): string {
    return `inference failed${this.worker === undefined ? "" : ` on worker ${this.worker}`}: ${this.reason}`
  }
}

/**
 * A text sent to the tokenization workers got no answer: the worker tokenizing it crashed (it is
 * replaced automatically), none could be started, or the model was shut down. A server fault, not
 * the text's.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenizerWorkerFailed extends Data.TaggedError("TokenizerWorkerFailed")<{
  readonly reason: string
  /** Index of the worker that was tokenizing the texts, if one was. */
  readonly worker?: number
}> {
  override get message(): string {
    return `tokenization failed${
      this.worker === undefined ? "" : ` on tokenizer worker ${this.worker}`
    }: ${this.reason}`
  }
}

/**
 * The model cannot do what was asked (e.g. token states from a model whose graph only gives pooled
 * embeddings).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unsupported extends Data.TaggedError("Unsupported")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}
