/**
 * The OpenAPI document (`/openapi.json`, `/api-doc/openapi.json`) against the real server: real
 * answers, errors included, validate against it with a JSON Schema 2020-12 validator, and it
 * documents exactly the routes the server has.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import { get, type Handle, post, probe, type Reply, start } from "./helpers.js"
import { type Validator, validator } from "./openapi.js"

const payloadLimit = 16 * 1024
const long = Array.from({ length: 700 }, (_, i) => `w${i}`).join(" ")
const gate = probe()
let server: Handle
let document: any
let spec: Validator

beforeAll(async () => {
  server = await start(
    { maxClientBatch: 4, payloadLimit, maxConcurrentRequests: 1, requestTimeoutMs: 1500 },
    { model: gate.layer }
  )
  const reply = await get(server, "/openapi.json")
  expect(reply.status).toBe(200)
  document = reply.json
  spec = validator(document)
})

afterAll(() => server.close())

const conforms = (method: string, path: string, reply: Reply, status?: number): Reply => {
  expect(spec.problems(method, path, reply), `${method} ${path} -> ${reply.status} ${reply.text.slice(0, 200)}`)
    .toEqual([])
  if (status !== undefined) expect(reply.status, reply.text).toBe(status)
  return reply
}

describe("the document", () => {
  it("is OpenAPI 3.1 and is served at TEI's path too", async () => {
    expect(document.openapi).toBe("3.1.0")
    expect(document.info.title).toBe("adabatch")
    // No API key: no security scheme (Swagger UI would show an "Authorize" button for an empty one).
    expect(document.components.securitySchemes).toBeUndefined()
    expect(document.paths["/embed"].post.responses["401"]).toBeUndefined()
    const tei = await get(server, "/api-doc/openapi.json")
    conforms("GET", "/api-doc/openapi.json", tei, 200)
    expect(tei.json).toEqual(document)
  })

  it("documents exactly the routes the server answers", async () => {
    const notFound = await get(server, "/no-such-route")
    expect(notFound.status).toBe(404)
    const routes = (notFound.json.error as string).split("routes: ")[1]!.split(", ").sort()
    expect(Object.keys(document.paths).sort()).toEqual(routes)
  })

  it("accepts unknown request fields, as the server does", async () => {
    const body = { inputs: "hello", unknown_field: 1 }
    expect(spec.requestProblems("POST", "/embed", body)).toEqual([])
    conforms("POST", "/embed", await post(server, "/embed", body), 200)
    expect(spec.requestProblems("POST", "/v1/embeddings", { input: ["a"], encoding_format: "base64", x: true }))
      .toEqual([])
    expect(spec.requestProblems("POST", "/embed", { input: "wrong field" })).not.toEqual([])
  })

  it("fails a response that drifts from it", () => {
    const reply = (status: number, json: unknown): Reply => ({
      status,
      headers: new Headers({ "content-type": "application/json" }),
      text: JSON.stringify(json),
      json
    })
    expect(spec.problems("GET", "/health", reply(200, { status: "fine" }))).not.toEqual([])
    expect(spec.problems("GET", "/health", reply(418, { status: "ok" }))).not.toEqual([])
    expect(spec.problems("POST", "/embed", reply(400, { error: "x", error_type: "overloaded" }))).not.toEqual([])
    expect(spec.problems("POST", "/v1/embeddings", reply(400, { error: "x", error_type: "validation" })))
      .not.toEqual([])
  })
})

describe("real answers validate against it", () => {
  it("successes of every route", async () => {
    conforms("POST", "/embed", await post(server, "/embed", { inputs: ["a b", "c"], normalize: false }), 200)
    for (const path of ["/v1/embeddings", "/embeddings"]) {
      conforms("POST", path, await post(server, path, { input: "a b", model: "m", user: "u" }), 200)
      conforms("POST", path, await post(server, path, { input: ["a"], encoding_format: "base64" }), 200)
      conforms("POST", path, await post(server, path, { input: ["a"], dimensions: 8 }), 200)
    }
    for (const path of ["/health", "/ready", "/info", "/metrics", "/docs", "/dashboard", "/dashboard/feed"]) {
      conforms("GET", path, await get(server, path), 200)
    }
  })

  it("the TEI and OpenAI parity routes", async () => {
    for (const path of ["/", "/invocations"]) {
      conforms("POST", path, await post(server, path, { inputs: "a b", truncation_direction: "Left" }), 200)
    }
    for (const path of ["/", "/ping", "/v1/models", "/models"]) conforms("GET", path, await get(server, path), 200)
    conforms("POST", "/tokenize", await post(server, "/tokenize", { inputs: ["a b", "c"] }), 200)
    conforms("POST", "/decode", await post(server, "/decode", { ids: [101, 102], skip_special_tokens: false }), 200)
    conforms(
      "POST",
      "/similarity",
      await post(server, "/similarity", { inputs: { source_sentence: "a", sentences: ["a", "b"] } }),
      200
    )
    conforms("POST", "/embed", await post(server, "/embed", { inputs: [[101, 7592, 102]] }), 200)
    conforms("POST", "/embed", await post(server, "/embed", { inputs: [""] }), 400)
    conforms("POST", "/tokenize", await post(server, "/tokenize", { inputs: 5 }), 422)
    // the echo model has no token states; TEI's routes of other model types: 424
    conforms("POST", "/embed_all", await post(server, "/embed_all", { inputs: "a" }), 424)
    for (const path of ["/predict", "/rerank", "/embed_sparse"]) {
      conforms("POST", path, await post(server, path, { inputs: "a" }), 424)
    }
  })

  it("400, 413, 415 and 422 on /embed and /v1/embeddings", async () => {
    const cases: ReadonlyArray<readonly [string, string, string, unknown, number | undefined]> = [
      ["/embed", "inputs", "POST", "{not json", 400],
      ["/embed", "inputs", "POST", { inputs: 5 }, 422],
      ["/embed", "inputs", "POST", { inputs: [] }, 400],
      ["/embed", "inputs", "POST", { inputs: "x".repeat(payloadLimit + 1) }, 413],
      ["/embed", "inputs", "POST", { inputs: ["a", "b", "c", "d", "e"] }, undefined],
      ["/embed", "inputs", "POST", { inputs: long, truncate: false }, 422],
      ["/v1/embeddings", "input", "POST", "{not json", 400],
      ["/v1/embeddings", "input", "POST", { input: [1, 2] }, 400],
      ["/v1/embeddings", "input", "POST", { input: "a", dimensions: 100000 }, 400],
      ["/v1/embeddings", "input", "POST", { input: "a", encoding_format: "hex" }, 400],
      ["/v1/embeddings", "input", "POST", { input: "x".repeat(payloadLimit + 1) }, 413],
      ["/v1/embeddings", "input", "POST", { input: ["a", "b", "c", "d", "e"] }, undefined],
      ["/v1/embeddings", "input", "POST", { input: long }, 422]
    ]
    for (const [path, , method, body, status] of cases) {
      conforms(method, path, await post(server, path, body), status)
    }
    for (const path of ["/embed", "/v1/embeddings"]) {
      conforms("POST", path, await post(server, path, "a", { headers: { "content-type": "text/plain" } }), 415)
    }
    conforms("GET", "/dashboard/feed", await get(server, "/dashboard/feed?since=soon"), 422)
  })

  it("429 and 504 on /embed and /v1/embeddings", async () => {
    gate.close()
    try {
      // One request may be handled at a time: while it waits at the closed gate, the next is refused.
      const held = post(server, "/embed", { inputs: "held" })
      const refused = async (path: string, body: unknown): Promise<Reply> => {
        for (let i = 0; i < 100; i++) {
          const reply = await post(server, path, body)
          if (reply.status === 429) return reply
          await new Promise((r) => setTimeout(r, 20))
        }
        throw new Error(`no 429 from ${path}`)
      }
      conforms("POST", "/embed", await refused("/embed", { inputs: "more" }), 429)
      conforms("POST", "/v1/embeddings", await refused("/v1/embeddings", { input: "more" }), 429)
      conforms("POST", "/embed", await held, 504)
      const late = post(server, "/v1/embeddings", { input: "held" })
      conforms("POST", "/v1/embeddings", await late, 504)
    } finally {
      gate.open()
    }
  })
})

describe("with an API key", () => {
  let keyed: Handle
  beforeAll(async () => {
    keyed = await start({ apiKey: Redacted.make("secret") })
  })
  afterAll(() => keyed.close())

  it("marks the routes behind the key, and their 401 validates", async () => {
    const doc = (await get(keyed, "/openapi.json")).json
    const keyedSpec = validator(doc)
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: "http", scheme: "bearer" } })
    for (
      const [path, method] of [["/embed", "post"], ["/v1/embeddings", "post"], ["/embeddings", "post"], [
        "/info",
        "get"
      ]]
    ) {
      expect(doc.paths[path!][method!].security, path).toEqual([{ bearer: [] }])
      const reply = method === "post" ? await post(keyed, path!, { inputs: "a", input: "a" }) : await get(keyed, path!)
      expect(keyedSpec.problems(method!.toUpperCase(), path!, reply)).toEqual([])
      expect(reply.status).toBe(401)
    }
    for (
      const path of ["/health", "/ready", "/metrics", "/openapi.json", "/api-doc/openapi.json", "/docs", "/dashboard"]
    ) {
      expect(doc.paths[path].get.security, path).toEqual([])
      expect((await get(keyed, path)).status, path).toBe(200)
    }
  })
})
