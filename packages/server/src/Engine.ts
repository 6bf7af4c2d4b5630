/**
 * The engine's Layers from the server configuration: `EngineLayers` of `@adabatch/core`, where
 * the server and the benchmark both take them from (this module keeps the import path the
 * server's modules use).
 *
 * @since 0.1.0
 */
import { EngineLayers } from "@adabatch/core"

/** @since 0.1.0 */
export const layer: typeof EngineLayers.layer = EngineLayers.layer
/** @since 0.1.0 */
export const modelLayer: typeof EngineLayers.modelLayer = EngineLayers.modelLayer
/** @since 0.1.0 */
export const modelOptions: typeof EngineLayers.modelOptions = EngineLayers.modelOptions
/** @since 0.1.0 */
export const policiesLayer: typeof EngineLayers.policiesLayer = EngineLayers.policiesLayer
/** @since 0.1.0 */
export const runTimeoutMs: typeof EngineLayers.runTimeoutMs = EngineLayers.runTimeoutMs
/** @since 0.1.0 */
export const tokenizerWorkers: typeof EngineLayers.tokenizerWorkers = EngineLayers.tokenizerWorkers
