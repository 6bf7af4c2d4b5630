/**
 * The routes that publish the API description: the OpenAPI 3.1 document (`GET /openapi.json`, and
 * `GET /api-doc/openapi.json` where TEI serves it) and the reference page (`GET /docs`).
 *
 * The page is `effect/http-api`'s `HttpApiSwagger`: Swagger UI's script and style sheet are inlined
 * in the page (they ship inside the `effect` package), so it loads nothing from a CDN and works
 * offline. (`HttpApiScalar` inlines its script too, but Scalar fetches its fonts from a CDN.)
 * `HttpApiSwagger` mounts on an `HttpRouter`; a router of its own is built on first use, the
 * request is handed to it, and the page it answers is kept.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiSwagger } from "effect/http-api"
import { ApiError } from "../ApiError.js"
import * as ApiDocument from "./ApiDocument.js"

type Response = HttpServerResponse.HttpServerResponse

/**
 * `GET /openapi.json`: the document, generated once per variant.
 *
 * @since 0.1.0
 * @category handlers
 */
export const document = (options: ApiDocument.DocumentOptions): Effect.Effect<Response> =>
  Effect.sync(() =>
    HttpServerResponse.text(ApiDocument.documentJson(options), {
      contentType: "application/json",
      headers: { "cache-control": "no-cache" }
    })
  )

const swaggerRoute = (options: ApiDocument.DocumentOptions) =>
  Effect.gen(function*() {
    const router = yield* HttpRouter.make
    yield* Layer.build(HttpApiSwagger.layer(ApiDocument.api(options), { path: "/docs" })).pipe(
      Effect.provideService(HttpRouter.HttpRouter, router),
      Effect.scoped
    )
    return router.asHttpEffect()
  })

const pages = new Map<boolean, Response>()

/**
 * The page with an empty icon: without one, browsers ask for `/favicon.ico` and log its 404 as an
 * error.
 */
const withEmptyIcon = (response: Response): Response => {
  if (response.body._tag !== "Uint8Array") return response
  const html = new TextDecoder().decode(response.body.body)
  return HttpServerResponse.html(html.replace(/<head>/i, "<head>\n  <link rel=\"icon\" href=\"data:,\" />"))
}

/**
 * `GET /docs`: Swagger UI over the document, self-contained (no CDN). The page is built on the
 * first request and kept.
 *
 * @since 0.1.0
 * @category handlers
 */
export const page =
  (options: ApiDocument.DocumentOptions) =>
  (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Response, ApiError> => {
    const cached = pages.get(options.auth)
    if (cached !== undefined) return Effect.succeed(cached)
    return Effect.flatMap(swaggerRoute(options), (route) =>
      // The route answers `GET /docs` (and HEAD): the request is re-targeted to exactly that, so
      // one with a query string finds it too.
      route.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, request.modify({ url: "/docs" })),
        Effect.scoped
      )).pipe(
        Effect.map((response) => {
          const page = withEmptyIcon(response)
          pages.set(options.auth, page)
          return page
        }),
        Effect.mapError((e) => new ApiError({ kind: "internal", message: `cannot build the docs page: ${String(e)}` }))
      )
  }
