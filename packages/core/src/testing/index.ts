/**
 * `@adabatch/core/testing`: hooks for tests and benchmarks, kept out of the main entry.
 *
 * - model: {@link ModelTesting} (crash a worker, read restarts and buffer counters, the
 *   `FaultInjection` option's type).
 *
 * @since 0.1.0
 */

/** Test and fault-injection hooks for the model workers (crash a worker, read restarts). @since 0.1.0 */
export * as ModelTesting from "./ModelTesting.js"
