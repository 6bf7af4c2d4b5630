/**
 * `@adabatch/bench`: the benchmarks behind every speed claim of adabatch. Run with `pnpm bench`
 * (quick) or `pnpm bench --full`; see `pnpm bench --help`.
 *
 * - statistics, load generation, the raw HTTP client and Prometheus reading live in the internal
 *   `@adabatch/testkit` package, shared with the reliability suite;
 * - what is measured against: {@link ModelCeiling}, {@link EngineCeiling}, {@link ChildServer}
 *   and the baselines ({@link Original}, {@link TeiStyle}, {@link DataLoaderSystem},
 *   {@link Unbatched}), gathered with adabatch's own systems in {@link Systems};
 * - running and reporting: {@link Options}, {@link Runner}, {@link Report}, {@link Summary},
 *   {@link Charts}, {@link Progress}, {@link Machine};
 * - several servers behind a load balancer: {@link Haproxy}, {@link Replicas}.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as DataLoaderSystem from "./baselines/DataLoaderSystem.js"
/** @since 0.1.0 */
export * as Fifo from "./baselines/Fifo.js"
/** @since 0.1.0 */
export * as Original from "./baselines/Original.js"
/** @since 0.1.0 */
export * as Overloaded from "./baselines/Overloaded.js"
/** @since 0.1.0 */
export * as TeiStyle from "./baselines/TeiStyle.js"
/** @since 0.1.0 */
export * as Unbatched from "./baselines/Unbatched.js"
/** @since 0.1.0 */
export * as Charts from "./Charts.js"
/** @since 0.1.0 */
export * as ChildServer from "./ChildServer.js"
/** @since 0.1.0 */
export * as EngineCeiling from "./EngineCeiling.js"
/** @since 0.1.0 */
export * as Env from "./Env.js"
/** @since 0.1.0 */
export * as Haproxy from "./Haproxy.js"
/** @since 0.1.0 */
export * as Inputs from "./Inputs.js"
/** @since 0.1.0 */
export * as Machine from "./Machine.js"
/** @since 0.1.0 */
export * as ModelCeiling from "./ModelCeiling.js"
/** @since 0.1.0 */
export * as Options from "./Options.js"
/** @since 0.1.0 */
export * as Progress from "./Progress.js"
/** @since 0.1.0 */
export * as Replicas from "./Replicas.js"
/** @since 0.1.0 */
export * as Report from "./Report.js"
/** @since 0.1.0 */
export * as Runner from "./Runner.js"
/** @since 0.1.0 */
export * as Summary from "./Summary.js"
/** @since 0.1.0 */
export * as Systems from "./Systems.js"
/** @since 0.1.0 */
export * as Wrk from "./Wrk.js"

/**
 * @since 0.1.0
 */
export const version = "0.1.0"
