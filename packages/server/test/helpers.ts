/**
 * Test helpers: start the real server on 127.0.0.1:0 with the real engine and a real model
 * (`echo` by default), call it with fetch, and wrap the model to gate, count or fail batches.
 */
import { EmbeddingModel, ModelError, ModelSource } from "@adabatch/core"
import { HttpMetrics, makeServer, type Server, type ServerConfig } from "@adabatch/server"
import { Effect, Latch, Layer } from "effect"

export type Handle = Server.ServerHandle

/** Starts the real server with the echo model unless the config says otherwise. */
export const start = (
  config: Partial<ServerConfig.ServerConfig> = {},
  options?: Server.Options
): Promise<Handle> =>
  makeServer({ host: "127.0.0.1", port: 0, model: "echo", ...config }, { logReady: false, ...options })

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

const toReply = async (response: Response): Promise<Reply> => {
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, text, json }
}

/** POSTs a JSON body (a string is sent as is). */
export const post = (
  server: { readonly url: string },
  path: string,
  body: unknown,
  init: { readonly headers?: Record<string, string>; readonly signal?: AbortSignal } = {}
): Promise<Reply> =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    ...(init.signal === undefined ? {} : { signal: init.signal })
  }).then(toReply)

export const get = (server: { readonly url: string }, path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { headers }).then(toReply)

/** `/embed` with `inputs`. */
export const embed = (server: { readonly url: string }, inputs: string | ReadonlyArray<string>, extra = {}) =>
  post(server, "/embed", { inputs, ...extra })

/** The value of `adabatch_http_requests_total{route, method, status}` in this process. */
export const requestCount = (route: string, method: string, status: number): Promise<number> =>
  Effect.runPromise(HttpMetrics.requestCount(route, method, status))

/** Polls `check` until it holds (at most `timeoutMs`). */
export const eventually = async (check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * A wrapped model: every batch waits at a gate (open by default), and what reaches the model is
 * counted. Batches whose inputs contain the token of `poison` fail with `InferenceFailed`.
 */
export interface ModelProbe {
  readonly layer: Layer.Layer<EmbeddingModel.EmbeddingModel, ModelError.ModelLoadError>
  /** Inputs computed so far. */
  readonly computed: () => number
  /** Whether an input with exactly the tokens of `text` was computed. */
  readonly wasComputed: (text: string) => boolean
  /** Batches that reached the model (before the gate). */
  readonly batches: () => number
  /** Closes the gate: later batches wait until `open`. */
  readonly close: () => void
  readonly open: () => void
}

export const probe = (options: { readonly model?: string; readonly poison?: string } = {}): ModelProbe => {
  const gate = Latch.makeUnsafe(true)
  let computed = 0
  let batches = 0
  const seen = new Set<string>()
  let model: EmbeddingModel.EmbeddingModel["Service"] | undefined
  const layer = Layer.effect(
    EmbeddingModel.EmbeddingModel,
    Effect.gen(function*() {
      const inner = yield* EmbeddingModel.EmbeddingModel
      model = inner
      let poisonId: number | undefined = undefined
      if (options.poison !== undefined) {
        const [p, ok] = yield* Effect.orDie(inner.tokenize([options.poison, "ok"], { truncate: true }))
        poisonId = p!.ids.find((id) => !ok!.ids.includes(id))
      }
      return EmbeddingModel.EmbeddingModel.of({
        ...inner,
        embedBatch: (batch) =>
          Effect.suspend(() => {
            batches++
            return gate.await.pipe(
              Effect.andThen(
                Effect.suspend(() => {
                  if (poisonId !== undefined && batch.some((e) => e.ids.includes(poisonId))) {
                    return Effect.fail(new ModelError.InferenceFailed({ reason: "poisoned input" }))
                  }
                  computed += batch.length
                  for (const e of batch) seen.add(e.ids.join(","))
                  return inner.embedBatch(batch)
                })
              )
            )
          })
      })
    })
  ).pipe(Layer.provide(ModelSource.layer({ model: options.model ?? "echo" })))
  return {
    layer,
    computed: () => computed,
    wasComputed: (text) => {
      if (model === undefined) throw new Error("the model is not built yet")
      const [encoded] = Effect.runSync(Effect.orDie(model.tokenize([text], { truncate: true })))
      return seen.has(encoded!.ids.join(","))
    },
    batches: () => batches,
    close: () => void gate.closeUnsafe(),
    open: () => void gate.openUnsafe()
  }
}
