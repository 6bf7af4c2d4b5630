/**
 * Everything the benchmark takes from `@adabatch/core` and `@adabatch/server`, in one place.
 *
 * @since 0.1.0
 */
import {
  Allowance,
  Batcher,
  BatchSizePolicy,
  BuiltinModel,
  Embedder,
  EmbeddingModel,
  EngineLayers,
  LayoutChoice,
  ModelError,
  ModelSource,
  QueuePolicy,
  WaitPolicy,
  type WorkerLayout
} from "@adabatch/core"
import { ServerConfig } from "@adabatch/server"
import { Context, Effect, Layer, type Scope } from "effect"

export {
  /** @since 0.1.0 */
  Allowance,
  /** @since 0.1.0 */
  Batcher,
  /** @since 0.1.0 */
  BatchSizePolicy,
  /** @since 0.1.0 */
  EngineLayers,
  /** @since 0.1.0 */
  LayoutChoice,
  /** @since 0.1.0 */
  QueuePolicy,
  /** @since 0.1.0 */
  ServerConfig,
  /** @since 0.1.0 */
  WaitPolicy
}

/**
 * @since 0.1.0
 * @category errors
 */
export const ModelLoadError = ModelError.ModelLoadError

/**
 * @since 0.1.0
 * @category errors
 */
export type ModelLoadError = ModelError.ModelLoadError

/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingModelService = EmbeddingModel.EmbeddingModel["Service"]

/**
 * @since 0.1.0
 * @category models
 */
export type EmbedderService = Embedder.Embedder["Service"]

/**
 * @since 0.1.0
 * @category models
 */
export type Encoded = EmbeddingModel.Encoded

/**
 * Generates (once) and returns the directory of a built-in model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensureBuiltinModel = (name: "default" | "tiny"): Effect.Effect<string, ModelLoadError> =>
  BuiltinModel.ensureBuiltinModel(name)

/**
 * The English corpus of the realistic input mix.
 *
 * @since 0.1.0
 * @category constants
 */
export const englishSentences: ReadonlyArray<string> = BuiltinModel.englishSentences

/**
 * @since 0.1.0
 * @category models
 */
export type LayoutReport = WorkerLayout.LayoutReport

/**
 * Cores this process may keep busy (its CPU affinity and cgroup quota).
 *
 * @since 0.1.0
 * @category utils
 */
export const availableCores = (): number => Allowance.usableCores()

/**
 * Builds the model the server configuration names (in the current scope).
 *
 * @since 0.1.0
 * @category constructors
 */
export const modelFor = (options: {
  readonly model: string
  readonly workers?: number | "auto" | undefined
  readonly intraOpNumThreads?: number | "auto" | undefined
  readonly reuseInputBuffers?: boolean | undefined
  readonly recalibrate?: boolean | undefined
  readonly cacheDir?: string | undefined
}): Effect.Effect<EmbeddingModelService, ModelLoadError, Scope.Scope> =>
  Layer.build(ModelSource.layer(options)).pipe(
    Effect.map((context) => Context.get(context, EmbeddingModel.EmbeddingModel))
  )

/**
 * Builds the `Embedder` the server would build from `config` (in the current scope), on `model`
 * when given (else on the model `config.model` names).
 *
 * @since 0.1.0
 * @category constructors
 */
export const embedderFor = (
  config: ServerConfig.ServerConfig,
  model?: EmbeddingModelService
): Effect.Effect<EmbedderService, ModelLoadError, Scope.Scope> =>
  Layer.build(
    model === undefined
      ? EngineLayers.layer(config)
      : EngineLayers.layer(config, Layer.succeed(EmbeddingModel.EmbeddingModel, model))
  ).pipe(Effect.map((context) => Context.get(context, Embedder.Embedder)))
