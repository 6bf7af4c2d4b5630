/**
 * `@adabatch/testkit`: the internal tooling shared by the benchmarks (`packages/bench`) and the
 * reliability suite (`test/reliability`). Private: it is not published.
 *
 * - load generation: {@link Load} (closed loop, open loop on a planned schedule, sequential; the
 *   benchmarks' measurements), {@link Traffic} (closed and open loop phases that record every HTTP
 *   outcome; the reliability tests), {@link Arrivals} and {@link Random} (schedules);
 * - HTTP clients on loopback: {@link Http1} (request bytes, response parser), {@link HttpClient}
 *   and {@link HttpSend} (the load generator's keep-alive pool), {@link RawHttp} (exact bytes,
 *   per-exchange outcomes, a fixed pool of lanes), {@link Client} (`node:http` with outcomes);
 * - child servers: {@link ChildProcess} (spawn, wait until ready, stop with a SIGKILL fallback);
 * - reading and reporting: {@link Prometheus}, {@link Stats}, {@link Markdown}.
 *
 * Each module is also an entry of its own: `import { closedLoop } from "@adabatch/testkit/Load"`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Arrivals from "./Arrivals.js"
/** @since 0.1.0 */
export * as ChildProcess from "./ChildProcess.js"
/** @since 0.1.0 */
export * as Client from "./Client.js"
/** @since 0.1.0 */
export * as Http1 from "./Http1.js"
/** @since 0.1.0 */
export * as HttpClient from "./HttpClient.js"
/** @since 0.1.0 */
export * as HttpSend from "./HttpSend.js"
/** @since 0.1.0 */
export * as Load from "./Load.js"
/** @since 0.1.0 */
export * as Markdown from "./Markdown.js"
/** @since 0.1.0 */
export * as Prometheus from "./Prometheus.js"
/** @since 0.1.0 */
export * as Random from "./Random.js"
/** @since 0.1.0 */
export * as RawHttp from "./RawHttp.js"
/** @since 0.1.0 */
export * as Stats from "./Stats.js"
/** @since 0.1.0 */
export * as Traffic from "./Traffic.js"
