/**
 * `Routes.layer` on a host application's `HttpRouter`, over real loopback HTTP (echo model): the
 * routes under a deeper prefix, the API key on adabatch's routes and, through `requireApiKey`, on
 * the host's own, and adabatch's HTTP metrics in the host's metric registry.
 */
import { EngineLayers } from "@adabatch/core"
import { Routes, ServerConfig } from "@adabatch/server"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"

const key = Redacted.make("host-key")
const config = ServerConfig.make({ model: "echo", apiKey: key })

const Private = HttpRouter.add(
  "GET",
  "/private",
  Routes.requireApiKey(key)(Effect.succeed(HttpServerResponse.text("ok")))
)

const HostMetrics = HttpRouter.add(
  "GET",
  "/host-metrics",
  Effect.map(PrometheusMetrics.format(), (text) => HttpServerResponse.text(text))
)

const Adabatch = Routes.layer(config, { prefix: "/v2/ml", dashboard: false }).pipe(
  Layer.provide(EngineLayers.layer(config))
)

const App = HttpRouter.serve(Layer.mergeAll(Private, HostMetrics, Adabatch), { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

// the module's @example, type-checked here
const Documented: Layer.Layer<never, never, HttpRouter.HttpRouter> = Routes.layer(
  ServerConfig.make({ model: "tiny" }),
  { prefix: "/ml" }
).pipe(Layer.provide(EngineLayers.layer(ServerConfig.make({ model: "tiny" }))), Layer.orDie)
void Documented

const auth = { authorization: "Bearer host-key" }

describe("Routes.layer in a host application", () => {
  it.live("prefix, API key on both applications' routes, metrics in the host's registry", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(App)
      const address = Context.get(context, HttpServer.HttpServer).address
      const url = HttpServer.formatAddress(address)
      const call = (path: string, init: RequestInit = {}) =>
        Effect.promise(async () => {
          const response = await fetch(`${url}${path}`, init)
          return { status: response.status, text: await response.text(), headers: response.headers }
        })
      const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
        call(path, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body)
        })

      const refused = yield* call("/private")
      assert.strictEqual(refused.status, 401)
      assert.strictEqual(refused.headers.get("www-authenticate"), "Bearer")
      assert.deepStrictEqual(JSON.parse(refused.text), {
        error: "missing API key: send the header Authorization: Bearer <key>",
        error_type: "Validation"
      })
      assert.strictEqual((yield* call("/private", { headers: { authorization: "Bearer nope" } })).status, 401)
      assert.deepStrictEqual(yield* Effect.map(call("/private", { headers: auth }), (r) => [r.status, r.text]), [
        200,
        "ok"
      ])

      assert.strictEqual((yield* post("/v2/ml/embed", { inputs: "a" }, {})).status, 401)
      const embedded = yield* post("/v2/ml/embed", { inputs: ["a", "b"] })
      assert.strictEqual(embedded.status, 200)
      assert.lengthOf(JSON.parse(embedded.text), 2)
      // TEI's POST / is POST {prefix}; probes need no key
      assert.strictEqual((yield* post("/v2/ml", { inputs: "a" })).status, 200)
      assert.strictEqual((yield* call("/v2/ml/health")).status, 200)
      assert.strictEqual((yield* call("/v2/ml/ready")).status, 200)
      const openai = yield* post("/v2/ml/v1/embeddings", { input: "a" }, {})
      assert.strictEqual(openai.status, 401)
      assert.strictEqual(JSON.parse(openai.text).error.code, "unauthorized")

      // error messages name the paths as the client sees them
      const unknown = JSON.parse((yield* call("/v2/ml/nothing", { headers: auth })).text).error as string
      assert.match(unknown, /^no route for GET \/v2\/ml\/nothing; routes: \/v2\/ml\/embed, /)
      const wrongMethod = JSON.parse((yield* call("/v2/ml/embed", { headers: auth })).text).error
      assert.strictEqual(wrongMethod, "method GET is not allowed on /v2/ml/embed; use POST")

      const metrics = yield* call("/host-metrics")
      assert.match(metrics.text, /^adabatch_http_requests_total\{[^}]*route="\/embed"[^}]*\} \d+/m)
    }).pipe(Effect.scoped), 60_000)
})
