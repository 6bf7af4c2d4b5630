// The peer: what a Node user would run instead of adabatch. transformers.js
// (@huggingface/transformers, on the same onnxruntime-node) behind a plain node:http handler, one
// `pipeline("feature-extraction")` call per request (mean pooling, normalize), no batching, the
// library's default session settings. Answers `POST /embed` with `{"inputs": string | string[]}`
// like adabatch's TEI route: `number[][]`.
//
// Configuration (argv[2]): `{ "modelDir": "<a model directory>" }`. transformers.js loads models
// from `<localModelPath>/<id>/` laid out as on the Hub (`config.json`, `tokenizer.json`,
// `tokenizer_config.json`, `onnx/model.onnx`), so the server lays the directory out that way with
// symbolic links in a temporary directory (removed when it exits); remote models are disabled, so
// nothing is ever downloaded.
import * as Fs from "node:fs"
import { createServer } from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { announce, fail, readConfig } from "./childProtocol.mjs"

/**
 * Lays `modelDir` out as transformers.js expects, under a fresh temporary directory.
 * @param {string} modelDir
 * @returns {{ root: string; id: string }}
 */
const layout = (modelDir) => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "adabatch-peer-"))
  const id = "model"
  const dir = Path.join(root, id)
  Fs.mkdirSync(Path.join(dir, "onnx"), { recursive: true })
  const onnx = ["onnx/model.onnx", "model.onnx"].map((f) => Path.join(modelDir, f)).find((f) => Fs.existsSync(f))
  if (onnx === undefined) throw new Error(`no model.onnx in ${modelDir}`)
  Fs.symlinkSync(Path.resolve(onnx), Path.join(dir, "onnx", "model.onnx"))
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    const from = Path.join(modelDir, f)
    if (!Fs.existsSync(from)) throw new Error(`no ${f} in ${modelDir}`)
    Fs.symlinkSync(Path.resolve(from), Path.join(dir, f))
  }
  return { root, id }
}

const main = async () => {
  const config = readConfig()
  if (typeof config.modelDir !== "string") throw new Error("peer.mjs needs { modelDir }")
  const { root, id } = layout(config.modelDir)
  process.on("exit", () => Fs.rmSync(root, { recursive: true, force: true }))
  const { env, pipeline } = await import("@huggingface/transformers")
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.localModelPath = root
  const extractor = await pipeline("feature-extraction", id, { dtype: "fp32", device: "cpu" })

  const server = createServer((req, res) => {
    /** @type {Array<Buffer>} */
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", async () => {
      /** @type {{ inputs?: unknown }} */
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      } catch {
        res.writeHead(400, { "content-type": "application/json" })
        res.end("{\"error\":\"invalid JSON\"}")
        return
      }
      const inputs = body.inputs
      if (typeof inputs !== "string" && !(Array.isArray(inputs) && inputs.every((x) => typeof x === "string"))) {
        res.writeHead(422, { "content-type": "application/json" })
        res.end("{\"error\":\"inputs must be a string or an array of strings\"}")
        return
      }
      try {
        const output = await extractor(inputs, { pooling: "mean", normalize: true })
        const out = JSON.stringify(output.tolist())
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) })
        res.end(out)
      } catch (error) {
        res.writeHead(500, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
      }
    })
  })
  server.keepAliveTimeout = 120_000
  server.on("error", fail)
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    if (address === null || typeof address === "string") return fail(new Error("no TCP address"))
    announce(address.port, () => new Promise((resolve) => server.close(() => resolve())))
  })
}

main().catch(fail)
