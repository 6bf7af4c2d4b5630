/**
 * `@adabatch/core/testing`: hooks and tools for tests and benchmarks, kept out of the main entry.
 *
 * - model: {@link ModelTesting} (crash a worker, read restarts and buffer counters, the
 *   `FaultInjection` option's type).
 * - scheduling: the policy simulator ({@link CostCurves}, {@link Simulator}, {@link PolicyComparison}).
 *
 * @since 0.1.0
 */

/** Test and fault-injection hooks for the model workers (crash a worker, read restarts). @since 0.1.0 */
export * as ModelTesting from "./ModelTesting.js"
/** Batch-time curves, measured and synthetic, for the policy simulator. @since 0.1.0 */
export * as CostCurves from "./CostCurves.js"
/** The policy simulator: a batch function that sleeps for a curve's time, and loads to drive it. @since 0.1.0 */
export * as Simulator from "./Simulator.js"
/** Adaptive against fixed caps on one curve, at saturation and at half load, on the simulator. @since 0.1.0 */
export * as PolicyComparison from "./PolicyComparison.js"
