/**
 * Checks real responses against the server's OpenAPI 3.1 document with a JSON Schema 2020-12
 * validator (ajv): the status must be documented for the operation, the content type listed, the
 * body valid against its schema, and each documented header present when required and valid.
 */
import { Ajv2020 } from "ajv/dist/2020.js"
import type { Reply } from "./helpers.js"

const documentId = "https://adabatch.local/openapi.json"

/** A JSON pointer token (RFC 6901). */
const token = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1")

const mediaType = (contentType: string | null): string => (contentType ?? "").split(";")[0]!.trim().toLowerCase()

export interface Validator {
  /** What is wrong with `reply` as the answer of `method path`; empty when it conforms. */
  readonly problems: (method: string, path: string, reply: Reply) => ReadonlyArray<string>
  /** What is wrong with `body` as the request body of `method path`. */
  readonly requestProblems: (method: string, path: string, body: unknown) => ReadonlyArray<string>
}

export const validator = (document: any): Validator => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  ajv.addSchema(document, documentId)
  const check = (pointer: string, value: unknown): ReadonlyArray<string> => {
    const validate = ajv.getSchema(`${documentId}#${pointer}`)
    if (validate === undefined) return [`no schema at ${pointer}`]
    if (validate(value)) return []
    return (validate.errors ?? []).map((e) => `${pointer}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)
  }
  const operation = (method: string, path: string) => document.paths?.[path]?.[method.toLowerCase()]
  return {
    problems: (method, path, reply) => {
      const op = operation(method, path)
      if (op === undefined) return [`${method} ${path} is not documented`]
      const response = op.responses?.[String(reply.status)]
      if (response === undefined) return [`${method} ${path}: status ${reply.status} is not documented (${reply.text})`]
      const base = `/paths/${token(path)}/${method.toLowerCase()}/responses/${reply.status}`
      const out: Array<string> = []
      const type = mediaType(reply.headers.get("content-type"))
      const key = Object.keys(response.content ?? {}).find((k) => mediaType(k) === type)
      if (key === undefined) out.push(`${method} ${path} ${reply.status}: content type ${type} is not documented`)
      else {
        const body = type === "application/json" ? reply.json : reply.text
        out.push(...check(`${base}/content/${token(key)}/schema`, body))
      }
      for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
        const value = reply.headers.get(name)
        if (value === null) {
          if (header.required === true) out.push(`${method} ${path} ${reply.status}: header ${name} is missing`)
          continue
        }
        out.push(...check(`${base}/headers/${token(name)}/schema`, value))
      }
      return out
    },
    requestProblems: (method, path, body) => {
      const op = operation(method, path)
      if (op?.requestBody === undefined) return [`${method} ${path} documents no request body`]
      return check(`/paths/${token(path)}/${method.toLowerCase()}/requestBody/content/application~1json/schema`, body)
    }
  }
}
