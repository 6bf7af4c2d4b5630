/**
 * Types shared by the main thread and the tokenization workers (`tokenizerWorker.mjs`), and by the
 * plain-JavaScript modules both load (`tokenizerCore.mjs`, `textCut.mjs`).
 *
 * @since 0.1.0
 */

/**
 * What a worker needs to build the same tokenizer as the main thread: the parsed contents of
 * `tokenizer.json` and `tokenizer_config.json`, or the built-in word hasher.
 *
 * @since 0.1.0
 * @category models
 */
export type TokenizerSource =
  | { readonly kind: "huggingface"; readonly json: unknown; readonly config: unknown }
  | { readonly kind: "builtin" }

/**
 * Where a very long text may be cut: the largest index `p <= window` (and above `window / 2`) such
 * that the ids of `text.slice(0, p)` are exactly the first ids of `text` (special tokens aside), or
 * `undefined` when there is none in that range.
 *
 * @since 0.1.0
 * @category models
 */
export type FindCut = (text: string, window: number) => number | undefined

/**
 * The result of tokenizing one text.
 *
 * - `encoded`: its ids (cut to the maximum length when truncating);
 * - `too-long`: more tokens than the maximum and truncation not requested (`atLeast`: only a
 *   prefix was tokenized, the text has at least `tokens` tokens);
 * - `failed`: the tokenizer threw.
 *
 * @since 0.1.0
 * @category models
 */
export type TextOutcome =
  | { readonly type: "encoded"; readonly ids: Int32Array; readonly truncated: boolean }
  | { readonly type: "too-long"; readonly tokens: number; readonly atLeast: boolean }
  | { readonly type: "failed"; readonly reason: string }

/**
 * `workerData` of a tokenization worker.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenizerWorkerData {
  readonly source: TokenizerSource
}

/**
 * Messages to a tokenization worker: tokenize `texts` (`crash`: a test hook that makes the worker
 * throw an uncaught exception as it reads it).
 *
 * @since 0.1.0
 * @category models
 */
export type ToTokenizerWorker =
  | {
    readonly type: "encode"
    readonly id: number
    readonly texts: ReadonlyArray<string>
    readonly maxLength: number
    readonly truncate: boolean
  }
  | { readonly type: "crash" }

/**
 * Messages from a tokenization worker: `ready` once its tokenizer is built (`load-failed` when it
 * cannot be), and one `encoded` per job, its outcomes in the order of its texts.
 *
 * @since 0.1.0
 * @category models
 */
export type FromTokenizerWorker =
  | { readonly type: "ready" }
  | { readonly type: "load-failed"; readonly reason: string }
  | { readonly type: "encoded"; readonly id: number; readonly outcomes: ReadonlyArray<TextOutcome> }
