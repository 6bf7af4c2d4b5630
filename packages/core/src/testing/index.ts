/**
 * `@adabatch/core/testing`: tools for tests and benchmarks, kept out of the main entry.
 *
 * @since 0.1.0
 */

/** Batch-time curves, measured and synthetic, for the policy simulator. @since 0.1.0 */
export * as CostCurves from "./CostCurves.js"
/** The policy simulator: a batch function that sleeps for a curve's time, and loads to drive it. @since 0.1.0 */
export * as Simulator from "./Simulator.js"
/** Adaptive against fixed caps on one curve, at saturation and at half load, on the simulator. @since 0.1.0 */
export * as PolicyComparison from "./PolicyComparison.js"
