// The bare node:http JSON echo server: the transport ceiling. Parses `{ "inputs": ... }` and
// answers `{ "echo": inputs }` with a content-length, keep-alive.
import { createServer } from "node:http"
import { announce, fail } from "./childProtocol.mjs"

const server = createServer((req, res) => {
  /** @type {Array<Buffer>} */
  const chunks = []
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    /** @type {{ inputs?: unknown }} */
    let body
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end("{\"error\":\"invalid JSON\"}")
      return
    }
    const out = JSON.stringify({ echo: body.inputs })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) })
    res.end(out)
  })
})
server.keepAliveTimeout = 120_000
server.on("error", fail)
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") return fail(new Error("no TCP address"))
  announce(address.port, () => new Promise((resolve) => server.close(() => resolve())))
})
