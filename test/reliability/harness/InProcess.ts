/**
 * The real server in this process (`makeServer` on 127.0.0.1:0) with a real model from
 * `ModelSource` (so fault injection and a run timeout can be set), keeping a handle on the model
 * service for the `ModelTesting` hooks (worker thread ids, restarts, crash on demand).
 */
import { EmbeddingModel, ModelSource } from "@adabatch/core"
import { EngineLayers } from "@adabatch/core"
import { makeServer, type Server, ServerConfig } from "@adabatch/server"
import { Effect, Layer } from "effect"

export interface InProcessServer extends Server.ServerHandle {
  /** The real model service (before any `wrap`): what the `ModelTesting` hooks need. */
  readonly modelService: () => EmbeddingModel.EmbeddingModel["Service"]
}

type ModelService = EmbeddingModel.EmbeddingModel["Service"]

/**
 * Starts the server; `model` defaults to `config.model` (or `tiny`). `wrap` may wrap the real model
 * service (to observe or hold its batches); the hooks then see the wrapped service.
 */
export const start = async (
  config: Partial<ServerConfig.ServerConfig>,
  model: Partial<ModelSource.ModelSourceOptions> = {},
  wrap: (inner: ModelService) => ModelService = (inner) => inner
): Promise<InProcessServer> => {
  let captured: ModelService | undefined
  const name = model.model ?? config.model ?? "tiny"
  const layer = Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.map(
      // the server's own model settings (workers, threads, run timeout), then the test's overrides
      ModelSource.make({
        ...EngineLayers.modelOptions(ServerConfig.make({ ...config, model: name })),
        ...model,
        model: name
      }),
      (service) => {
        captured = service
        return wrap(service)
      }
    )
  )
  const handle = await makeServer({ host: "127.0.0.1", port: 0, model: name, ...config }, {
    logReady: false,
    model: layer
  })
  return {
    ...handle,
    modelService: () => {
      if (captured === undefined) throw new Error("the model is not loaded")
      return captured
    }
  }
}

/**
 * The token id that marks a "poison" input: the first id of `word` that none of `clean` contains
 * (so only inputs with `word` in them carry it).
 */
export const poisonToken = async (
  modelName: string,
  word: string,
  clean: ReadonlyArray<string>
): Promise<number> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const model = yield* ModelSource.make({ model: `echo:${modelName}` })
        const [marked] = yield* model.tokenize([word], { truncate: true })
        const others = yield* model.tokenize(clean, { truncate: true })
        const seen = new Set<number>()
        for (const e of others) for (const id of e.ids) seen.add(id)
        const id = [...marked!.ids].find((t) => !seen.has(t))
        if (id === undefined) {
          return yield* Effect.die(new Error(`every token of "${word}" also occurs in the clean texts`))
        }
        return id
      })
    )
  )
