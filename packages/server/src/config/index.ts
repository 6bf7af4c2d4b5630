/**
 * The server's configuration: the `ServerConfig` values and their checks, the settings with their
 * variables and flags, and the `adabatch-server` command line on `effect/cli`.
 *
 * @since 0.1.0
 */
export * from "./Cli.js"
export * from "./ServerConfig.js"
export * from "./Settings.js"
