/**
 * The HTTP API described with `effect/http-api` (`HttpApi`, `HttpApiGroup`, `HttpApiEndpoint`),
 * from the Schemas the server decodes requests with (`Requests.ts`) and the response Schemas
 * (`Schemas.ts`), and the OpenAPI 3.1 document generated from it (`OpenApi.fromApi`). Requests are
 * still served by `Api.ts`'s route table; this is the contract, and a test validates real responses
 * against it.
 *
 * Adding a route to the document: declare an `HttpApiEndpoint` in `make` below (method, path,
 * `payload`, `success`, `error: errors(family, kinds)`), wrap it in `keyed(...)` when it needs the API
 * key, and `.add` it to its group (`tei`, `openai`, `operations`, `documentation`, `live`), e.g.
 *
 * ```ts
 * const tokenize = HttpApiEndpoint.post("tokenize", "/tokenize", {
 *   disableCodecs: true,
 *   payload: TeiRequests.TokenizeRequest,
 *   success: Schemas.TokenizeResponse,
 *   error: errors("tei", embedding)
 * }).annotate(OpenApi.Summary, "Tokenize inputs (TEI)").annotate(OpenApi.Transform, acceptUnknownFields)
 * // ... HttpApiGroup.make("TEI").add(keyed(embed...), keyed(tokenize))
 * ```
 *
 * Error bodies and their `error_type` / `code` values come from `ApiError.catalogue` for the kinds
 * listed. `test/openapi.test.ts` fails while a served route is missing here.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { readFileSync } from "node:fs"
import type { Family, Kind } from "../ApiError.js"
import { Feed } from "../dashboard/FeedSchema.js"
import { SimilarityRequest } from "../routes/Similarity.js"
import * as Requests from "../wire/Requests.js"
import * as TeiRequests from "../wire/TeiRequests.js"
import * as ErrorResponses from "./ErrorResponses.js"
import * as Schemas from "./Schemas.js"

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  readonly version: string
}).version

/**
 * How the document is generated for one server.
 *
 * @since 0.1.0
 * @category models
 */
export interface DocumentOptions {
  /** An API key is configured: the routes behind it say so (`security`) and list 401. */
  readonly auth: boolean
}

type Operation = Record<string, any>

/**
 * The server ignores unknown request fields; the generated schema of a request body forbids them
 * (`additionalProperties: false`), so each request body is opened again.
 */
const acceptUnknownFields = (operation: Operation): Operation => {
  const content = operation.requestBody?.content as Record<string, { schema?: Record<string, unknown> }> | undefined
  for (const media of Object.values(content ?? {})) {
    if (media.schema !== undefined && media.schema.type === "object") delete media.schema.additionalProperties
  }
  return operation
}

const requiresKey = (operation: Operation): Operation => ({ ...operation, security: [{ bearer: [] }] })

/**
 * The whole document's last touches: the bearer scheme when a key is configured (an empty
 * `securitySchemes` would still show an "Authorize" button in Swagger UI), and each response
 * header's description on the header, where viewers show it, rather than only on its schema.
 */
const finish = (spec: Record<string, any>, options: DocumentOptions): Record<string, any> => {
  const { securitySchemes: _, ...components } = spec.components ?? {}
  for (const item of Object.values<Record<string, Operation>>(spec.paths ?? {})) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values<Record<string, any>>(operation.responses ?? {})) {
        for (const header of Object.values<Record<string, any>>(response.headers ?? {})) {
          if (header.schema?.description !== undefined) header.description ??= header.schema.description
        }
      }
    }
  }
  return {
    ...spec,
    components: options.auth
      ? { ...components, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } }
      : components
  }
}

const text = (contentType: string, description: string) =>
  Schema.String.pipe(HttpApiSchema.asText({ contentType })).annotate({ description })

const json = (description: string) => Schema.Record(Schema.String, Schema.Unknown).annotate({ description })

/** What the endpoint definitions share: error responses by kind, the API key's mark, kind lists. */
const helpers = (options: DocumentOptions) => {
  const errors = (
    family: Family,
    kinds: ReadonlyArray<Kind>,
    others: ReadonlyArray<ErrorResponses.OtherResponse> = []
  ) => ErrorResponses.responses(family, kinds.filter((kind) => options.auth || kind !== "unauthorized"), others)
  const embedding = [...ErrorResponses.commonKinds, ...ErrorResponses.authKinds, ...ErrorResponses.embeddingKinds]
  const keyed = <E extends { annotate: (key: typeof OpenApi.Transform, f: (o: Operation) => Operation) => E }>(
    endpoint: E
  ): E => options.auth ? endpoint.annotate(OpenApi.Transform, requiresKey) : endpoint
  const plain: ReadonlyArray<Kind> = ["internal"]

  const teiEmbedding = [...embedding, ...ErrorResponses.teiKinds]

  return { errors, embedding, keyed, plain, teiEmbedding }
}

type Helpers = ReturnType<typeof helpers>

/** TEI's embedding endpoints. */
const teiEmbedding = (h: Helpers) => {
  const { errors, teiEmbedding } = h
  const embedAt = (identifier: "embed" | "root" | "invocations", path: "/embed" | "/" | "/invocations") =>
    HttpApiEndpoint.post(identifier, path, {
      disableCodecs: true,
      payload: TeiRequests.EmbedRequest,
      success: HttpApiSchema.WithHeaders(Schemas.TeiEmbedResponse, Schemas.TimingHeaders),
      error: errors("tei", teiEmbedding)
    }).annotate(
      OpenApi.Summary,
      path === "/embed" ? "Embed inputs (TEI)" : `Embed inputs (TEI; the same as /embed, at ${path})`
    )
      .annotate(
        OpenApi.Description,
        "Unit-length vectors unless `normalize: false`; `truncate` cuts long inputs (at the end, or at the start " +
          "with `truncation_direction: Left`); `prompt_name` puts a prompt of the model before each input; " +
          "inputs may be token ids."
      )
      .annotate(OpenApi.Transform, acceptUnknownFields)

  const embedAll = HttpApiEndpoint.post("embedAll", "/embed_all", {
    disableCodecs: true,
    payload: TeiRequests.EmbedAllRequest,
    success: Schemas.EmbedAllResponse,
    error: errors("tei", [...teiEmbedding, ...ErrorResponses.unsupportedKinds])
  }).annotate(OpenApi.Summary, "Token-level states of inputs (TEI)")
    .annotate(OpenApi.Transform, acceptUnknownFields)

  const similarity = HttpApiEndpoint.post("similarity", "/similarity", {
    disableCodecs: true,
    payload: SimilarityRequest,
    success: Schemas.SimilarityResponse,
    error: errors("tei", teiEmbedding)
  }).annotate(OpenApi.Summary, "Cosine similarity of a sentence to others (TEI)")
    .annotate(OpenApi.Transform, acceptUnknownFields)

  const otherModelType = (
    identifier: "predict" | "rerank" | "embedSparse",
    path: "/predict" | "/rerank" | "/embed_sparse"
  ) =>
    HttpApiEndpoint.post(identifier, path, {
      disableCodecs: true,
      error: errors("tei", [
        ...ErrorResponses.commonKinds,
        ...ErrorResponses.authKinds,
        ...ErrorResponses.unsupportedKinds
      ])
    }).annotate(OpenApi.Summary, `TEI's ${path} of another model type: 424 Backend from an embedding model`)

  return { embedAt, embedAll, similarity, otherModelType }
}

/** TEI's `/tokenize` and `/decode`. */
const teiTokens = (h: Helpers) => {
  const { errors } = h
  // /tokenize and /decode refuse the same things
  const tokenKinds = [
    ...ErrorResponses.commonKinds,
    ...ErrorResponses.authKinds,
    ...ErrorResponses.readKinds,
    "invalid_request",
    "too_many_inputs",
    "tokenization_failed",
    ...ErrorResponses.teiKinds
  ] as const
  const tokenize = HttpApiEndpoint.post("tokenize", "/tokenize", {
    disableCodecs: true,
    payload: TeiRequests.TokenizeRequest,
    success: Schemas.TokenizeResponse,
    error: errors("tei", tokenKinds)
  }).annotate(OpenApi.Summary, "Tokenize inputs, with offsets (TEI)")
    .annotate(OpenApi.Transform, acceptUnknownFields)

  const decode = HttpApiEndpoint.post("decode", "/decode", {
    disableCodecs: true,
    payload: TeiRequests.DecodeRequest,
    success: Schemas.DecodeResponse,
    error: errors("tei", tokenKinds)
  }).annotate(OpenApi.Summary, "Decode token ids to text (TEI)")
    .annotate(OpenApi.Transform, acceptUnknownFields)

  return { tokenize, decode }
}

/** The TEI group. */
const teiGroup = (h: Helpers) => {
  const { keyed } = h
  const { embedAt, embedAll, similarity, otherModelType } = teiEmbedding(h)
  const { tokenize, decode } = teiTokens(h)
  return HttpApiGroup.make("TEI").add(
    keyed(embedAt("embed", "/embed")),
    keyed(embedAt("root", "/")),
    keyed(embedAt("invocations", "/invocations")),
    keyed(embedAll),
    keyed(tokenize),
    keyed(decode),
    keyed(similarity),
    keyed(otherModelType("predict", "/predict")),
    keyed(otherModelType("rerank", "/rerank")),
    keyed(otherModelType("embedSparse", "/embed_sparse"))
  )
    .annotate(OpenApi.Description, "Hugging Face text-embeddings-inference routes")
}

/** The OpenAI group. */
const openaiGroup = (h: Helpers) => {
  const { embedding, errors, keyed } = h
  const models = (identifier: "models" | "modelsAlias", path: "/v1/models" | "/models") =>
    HttpApiEndpoint.get(identifier, path, {
      disableCodecs: true,
      success: Schemas.ModelList,
      error: errors("openai", [...ErrorResponses.commonKinds, ...ErrorResponses.authKinds])
    }).annotate(
      OpenApi.Summary,
      path === "/models" ? "The served model (OpenAI, without /v1)" : "The served model (OpenAI)"
    )

  const embeddings = (identifier: "embeddings" | "embeddingsAlias", path: "/v1/embeddings" | "/embeddings") =>
    HttpApiEndpoint.post(identifier, path, {
      disableCodecs: true,
      payload: Requests.OpenAIEmbeddingRequest,
      success: HttpApiSchema.WithHeaders(Schemas.OpenAIEmbeddingResponse, Schemas.TimingHeaders),
      error: errors("openai", embedding)
    }).annotate(
      OpenApi.Summary,
      path === "/embeddings" ? "Create embeddings (OpenAI, without /v1)" : "Create embeddings (OpenAI)"
    )

  return HttpApiGroup.make("OpenAI").add(
    keyed(embeddings("embeddings", "/v1/embeddings").annotate(OpenApi.Transform, acceptUnknownFields)),
    keyed(embeddings("embeddingsAlias", "/embeddings").annotate(OpenApi.Transform, acceptUnknownFields)),
    keyed(models("models", "/v1/models")),
    keyed(models("modelsAlias", "/models"))
  ).annotate(OpenApi.Description, "OpenAI-compatible routes; errors in OpenAI's shape")
}

/** Probes and metrics. */
const operationsGroup = (h: Helpers) => {
  const { errors, keyed, plain } = h
  const health = HttpApiEndpoint.get("health", "/health", {
    disableCodecs: true,
    success: Schemas.HealthOk,
    error: errors("tei", [...plain, "unhealthy"], [{ status: 503, body: Schemas.NotServing }])
  }).annotate(OpenApi.Summary, "Liveness: 200 once the model is loaded and a worker answers")

  const healthAt = (identifier: "rootHealth" | "ping", path: "/" | "/ping") =>
    HttpApiEndpoint.get(identifier, path, {
      disableCodecs: true,
      success: Schemas.HealthOk,
      error: errors("tei", [...plain, "unhealthy"], [{ status: 503, body: Schemas.NotServing }])
    }).annotate(OpenApi.Summary, `Liveness, as /health (TEI serves it at ${path})`)

  const ready = HttpApiEndpoint.get("ready", "/ready", {
    disableCodecs: true,
    success: Schemas.QueueStatus("ready"),
    error: errors("tei", plain, [
      { status: 503, body: Schemas.NotServing },
      { status: 503, body: Schemas.QueueStatus("saturated") }
    ])
  }).annotate(OpenApi.Summary, "Readiness: 200 when new work would be taken at once")

  const info = HttpApiEndpoint.get("info", "/info", {
    disableCodecs: true,
    success: Schemas.Info,
    error: errors("tei", [...ErrorResponses.commonKinds, ...ErrorResponses.authKinds])
  }).annotate(OpenApi.Summary, "The model, the limits and the batching policies' current values")

  const metrics = HttpApiEndpoint.get("metrics", "/metrics", {
    disableCodecs: true,
    success: text("text/plain; version=0.0.4; charset=utf-8", "Prometheus text exposition format"),
    error: errors("tei", plain)
  }).annotate(OpenApi.Summary, "Prometheus metrics of the engine, the model and HTTP")

  return HttpApiGroup.make("Operations").add(
    health,
    healthAt("rootHealth", "/"),
    healthAt("ping", "/ping"),
    ready,
    keyed(info),
    metrics
  )
    .annotate(OpenApi.Description, "Probes and metrics (no API key needed, except /info)")
}

/** This document and its page, and the dashboard. */
const documentationGroups = (h: Helpers) => {
  const { errors, plain } = h
  const openapi = (identifier: "openapi" | "teiOpenapi", path: "/openapi.json" | "/api-doc/openapi.json") =>
    HttpApiEndpoint.get(identifier, path, {
      disableCodecs: true,
      success: json("This OpenAPI 3.1 document"),
      error: errors("tei", plain)
    }).annotate(OpenApi.Summary, "This document")

  const docs = HttpApiEndpoint.get("docs", "/docs", {
    disableCodecs: true,
    success: text("text/html; charset=utf-8", "Swagger UI, self-contained"),
    error: errors("tei", plain)
  }).annotate(OpenApi.Summary, "The API reference page (works offline)")

  const dashboard = HttpApiEndpoint.get("dashboard", "/dashboard", {
    disableCodecs: true,
    success: text("text/html; charset=utf-8", "The dashboard page, self-contained"),
    error: errors("tei", plain)
  }).annotate(OpenApi.Summary, "Live charts of the last minutes (works offline)")

  const feed = HttpApiEndpoint.get("feed", "/dashboard/feed", {
    disableCodecs: true,
    query: {
      since: Schema.optionalKey(Schema.String.annotate({ description: "Unix seconds: only the samples after it" }))
    },
    success: Feed,
    error: errors("tei", [...plain, "invalid_request"])
  }).annotate(OpenApi.Summary, "The dashboard's samples, one per second")

  return {
    documentation: HttpApiGroup.make("Documentation").add(
      openapi("openapi", "/openapi.json"),
      openapi("teiOpenapi", "/api-doc/openapi.json"),
      docs
    ),
    live: HttpApiGroup.make("Dashboard").add(dashboard, feed)
  }
}

const make = (options: DocumentOptions) => {
  const h = helpers(options)
  const tei = teiGroup(h)
  const openai = openaiGroup(h)
  const operations = operationsGroup(h)
  const { documentation, live } = documentationGroups(h)
  return HttpApi.make("adabatch").add(tei, openai, operations, documentation, live)
    .annotate(OpenApi.Title, "adabatch")
    .annotate(OpenApi.Version, version)
    .annotate(
      OpenApi.Description,
      "Adaptive dynamic-batching embedding server with TEI- and OpenAI-compatible routes. " +
        "TEI routes answer errors as {error, error_type}, OpenAI routes as {error: {message, type, param, code}}."
    )
    .annotate(OpenApi.Transform, (spec) => finish(spec, options))
}

/**
 * The API description of one server.
 *
 * @since 0.1.0
 * @category models
 */
export type Api = ReturnType<typeof make>

const apis = new Map<boolean, Api>()

/**
 * The API description for these options (built once per variant).
 *
 * @since 0.1.0
 * @category constructors
 */
export const api = (options: DocumentOptions): Api => {
  let built = apis.get(options.auth)
  if (built === undefined) {
    built = make(options)
    apis.set(options.auth, built)
  }
  return built
}

const documents = new Map<boolean, string>()

/**
 * The OpenAPI 3.1 document as JSON text (generated once per variant).
 *
 * @since 0.1.0
 * @category rendering
 */
export const documentJson = (options: DocumentOptions): string => {
  let text = documents.get(options.auth)
  if (text === undefined) {
    text = JSON.stringify(OpenApi.fromApi(api(options)))
    documents.set(options.auth, text)
  }
  return text
}
