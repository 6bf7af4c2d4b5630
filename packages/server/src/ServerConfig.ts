/**
 * The server's configuration (moved to `config/`; this module keeps the import path the server's
 * modules use).
 *
 * @since 0.1.0
 */
export * from "./config/index.js"
