import { BuiltinModel } from "@adabatch/core"
import { makeServer } from "@adabatch/server"
import * as Http1 from "@adabatch/testkit/Http1"
import * as HttpClient from "@adabatch/testkit/HttpClient"
import * as HttpSend from "@adabatch/testkit/HttpSend"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildServer from "../src/ChildServer.js"
import { compareVectors } from "../src/scenarios/PeerScenario.js"
import { serverEntry } from "../src/scenarios/TransportScenario.js"

const texts = [
  "How do I reset my password if I no longer have access to my email?",
  "hello",
  "The quick brown fox jumps over the lazy dog, and then it runs back into the forest before anyone notices.",
  "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e: 3 eggs, 250 ml of cream and 60 g of sugar."
]

describe("the transformers.js peer (servers/peer.mjs)", () => {
  it.effect("answers POST /embed with the same vectors as adabatch's /embed for the same model", () =>
    Effect.scoped(Effect.gen(function*() {
      const modelDir = yield* BuiltinModel.ensureBuiltinModel("tiny")
      const adabatch = yield* Effect.acquireRelease(
        Effect.promise(() => makeServer({ model: "tiny", host: "127.0.0.1", port: 0 }, { logReady: false })),
        (server) => Effect.promise(() => server.close())
      )
      const peer = yield* ChildServer.start({ name: "peer", entry: serverEntry("peer.mjs"), config: { modelDir } })

      const diff = yield* Effect.promise(() => compareVectors([adabatch.port, peer.port], texts))
      expect(diff).toBeLessThan(1e-6)

      // a list of texts is one pipeline call; each row is the unit-length mean-pooled vector
      const pool = HttpClient.makePool("127.0.0.1", peer.port)
      yield* Effect.addFinalizer(() => Effect.sync(() => pool.close()))
      const bodies: Array<Array<Array<number>>> = []
      const send = HttpSend.make(
        pool,
        [Http1.encodeRequest({
          method: "POST",
          path: "/embed",
          host: "127.0.0.1",
          port: peer.port,
          body: JSON.stringify({ inputs: texts })
        })],
        (_, response) => bodies.push(JSON.parse(response.body.toString("utf8")) as Array<Array<number>>)
      )
      expect(yield* Effect.promise(() => send(0))).toBe("ok")
      const rows = bodies[0]!
      expect(rows).toHaveLength(texts.length)
      for (const row of rows) {
        expect(row).toHaveLength(32)
        expect(Math.hypot(...row)).toBeCloseTo(1, 5)
      }
      const invalid = HttpSend.make(pool, [
        Http1.encodeRequest({ method: "POST", path: "/embed", host: "127.0.0.1", port: peer.port, body: "{" })
      ])
      expect(yield* Effect.promise(() => invalid(0))).toBe("error")
    })))
})
