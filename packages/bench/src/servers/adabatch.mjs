// The real adabatch server (@adabatch/server's makeServer), started on an ephemeral port with the
// configuration given in argv[2], e.g. { "model": "echo" } or { "model": "default" }.
import { makeServer } from "@adabatch/server"
import { announce, fail, readConfig } from "./childProtocol.mjs"

const config = readConfig()
makeServer({ ...config, host: "127.0.0.1", port: 0 }, { logReady: false }).then(
  (server) => announce(server.port, server.close),
  fail
)
