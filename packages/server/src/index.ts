/**
 * `@adabatch/server`: a TEI- and OpenAI-compatible HTTP embedding server on `@adabatch/core`,
 * served with `effect/http` on `@effect/platform-node`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Api from "./Api.js"
/** @since 0.1.0 */
export * as ApiError from "./ApiError.js"
/** @since 0.1.0 */
export * as ApiKey from "./ApiKey.js"
/** @since 0.1.0 */
export * as Encoding from "./wire/Encoding.js"
/** @since 0.1.0 */
export * as Backpressure from "./http/Backpressure.js"
/** @since 0.1.0 */
export * as Body from "./http/Body.js"
/** @since 0.1.0 */
export * as InflightBytes from "./http/InflightBytes.js"
/** @since 0.1.0 */
export * as JsonBody from "./http/JsonBody.js"
/** @since 0.1.0 */
export * as EventLoopMetrics from "./EventLoopMetrics.js"
/** @since 0.1.0 */
export * as HttpMetrics from "./HttpMetrics.js"
/** @since 0.1.0 */
export * as LayoutView from "./LayoutView.js"
/** @since 0.1.0 */
export * as Requests from "./wire/Requests.js"
/** @since 0.1.0 */
export * as Routes from "./http/Routes.js"
/** @since 0.1.0 */
export * as Server from "./Server.js"
/** @since 0.1.0 */
export * as ServerConfig from "./config/index.js"
/** @since 0.1.0 */
export * as ServerState from "./ServerState.js"

import * as ServerConfig from "./config/index.js"
import * as Server from "./Server.js"

/**
 * Starts the real server from a (partial) configuration and resolves once it is ready; `close()`
 * drains and stops it. Use `port: 0` for an ephemeral port and read `port` / `url` back.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeServer = (
  config: Partial<ServerConfig.ServerConfig> = {},
  options?: Server.Options
): Promise<Server.ServerHandle> => Server.start(ServerConfig.make(config), options)
