// The bare effect/http JSON echo server: an HttpRouter route decoding `{ "inputs": string |
// string[] }` with HttpServerRequest.schemaBodyJson and answering `{ "echo": inputs }` with
// HttpServerResponse.json, served by @effect/platform-node. No logger. This is what any
// effect/http service pays per request before doing any work.
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { announce, fail } from "./childProtocol.mjs"

const Body = Schema.Struct({ inputs: Schema.Union([Schema.String, Schema.Array(Schema.String)]) })

const Echo = HttpRouter.add(
  "POST",
  "/echo",
  Effect.gen(function*() {
    const body = yield* HttpServerRequest.schemaBodyJson(Body)
    return yield* HttpServerResponse.json({ echo: body.inputs })
  }).pipe(Effect.catch((e) => HttpServerResponse.json({ error: String(e) }, { status: 400 })))
)

const ServerLayer = HttpRouter.serve(Echo, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => {
    const s = createServer()
    s.keepAliveTimeout = 120_000
    return s
  }, { port: 0, host: "127.0.0.1" }))
)

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(ServerLayer, scope)
  const server = yield* Effect.provideContext(
    Effect.gen(function*() {
      return yield* HttpServer.HttpServer
    }),
    context
  )
  const address = server.address
  if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("no TCP address"))
  return { port: address.port, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
})

Effect.runPromise(main).then(({ close, port }) => announce(port, close), fail)
