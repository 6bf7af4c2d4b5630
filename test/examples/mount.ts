import { EngineLayers } from "@adabatch/core"
import { Routes, ServerConfig } from "@adabatch/server"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"

const config = ServerConfig.make({ model: process.env.ADABATCH_MODEL ?? "default" })

// The application's own route.
const Hello = HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello"))

// adabatch under /ml: /ml/embed, /ml/v1/embeddings, /ml/health, /ml/metrics, ... on the model
// of the Embedder below it.
const Adabatch = Routes.layer(config, { prefix: "/ml" }).pipe(Layer.provide(EngineLayers.layer(config)))

// One HTTP server for both. HttpRouter.serve logs every request at INFO unless told not to: at
// embedding rates that log line costs more than the router itself.
export const App = HttpRouter.serve(Layer.mergeAll(Hello, Adabatch), { disableLogger: true }).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, {
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? "0.0.0.0"
  }))
)

// Closing the scope (SIGINT or SIGTERM under runMain) answers the requests in flight, then stops the
// model's workers.
export const main = Layer.launch(App)

if (process.argv[1]?.endsWith("mount.ts")) NodeRuntime.runMain(main)
