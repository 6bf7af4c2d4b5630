// @ts-check
/**
 * onnxruntime thread spinning (see `WorkerProtocol.Spinning`) as session settings. Plain
 * JavaScript, like `worker.mjs`, so that worker threads can import it on Node 20.
 *
 * @since 0.1.0
 */

/** @typedef {import("./WorkerProtocol.js").Spinning} Spinning */

/**
 * Every spinning mode, the default first.
 *
 * @since 0.1.0
 * @category constants
 * @type {ReadonlyArray<Spinning>}
 */
export const spinningModes = ["run", "always", "off"]

/**
 * The `extra.session` settings of an onnxruntime session for `spinning`.
 *
 * @since 0.1.0
 * @category utils
 * @param {Spinning} spinning
 */
export const spinningSettings = (spinning) => ({
  intra_op: { allow_spinning: spinning === "off" ? "0" : "1" },
  inter_op: { allow_spinning: spinning === "off" ? "0" : "1" },
  // stop spinning as soon as a run ends
  force_spinning_stop: spinning === "run" ? "1" : "0"
})
