/**
 * Two replicas (the real server, tiny ONNX model, one worker thread each) behind the real HAProxy
 * with `deploy/haproxy/haproxy.cfg`, under an open-loop load at about 80 % of the pair's capacity
 * (measured first, through the balancer):
 *
 * - SIGTERM to one replica: no request is lost and none gets a 5xx (the draining replica answers
 *   what it accepted, refuses the rest with 503, which HAProxy sends again to the other one);
 * - SIGKILL to one replica: every request sent after the kill is answered by the other replica; the
 *   only ones that may fail are those in flight at the kill, each with HAProxy's 502 or 503 (with
 *   `retry-on empty-response` HAProxy sends them to the other replica too, so none failed so far);
 * - saturation: a replica whose queue is flooded answers `/ready` with 503, HAProxy takes it out
 *   of the rotation and sends new requests to the other one; it comes back once the flood ends;
 * - every replica saturated: HAProxy's fallback backend (checked by TCP) still sends requests
 *   to them, where they wait in the queue, instead of answering 503 itself.
 *
 * The counts are printed (docs/deploy.md records them). Needs `haproxy` (`.ci/run` installs it).
 */
import { Haproxy, Replicas } from "@adabatch/bench"
import { agent, eventually, send, sleep } from "@adabatch/testkit/Client"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { fileURLToPath } from "node:url"
import { byReplica, closedLoop, openLoop, type Sent, tally } from "./Traffic.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const replicaOptions = {
  bin: fileURLToPath(new URL("../../packages/server/src/bin.ts", import.meta.url)),
  // the current sources, as the reliability suite runs them
  execArgv: [
    "--import",
    "tsx",
    "--import",
    fileURLToPath(new URL("../reliability/fixtures/child-preload.mjs", import.meta.url))
  ],
  cwd: root,
  flags: [
    "--model",
    "tiny",
    "--workers",
    "1",
    "--threads",
    "1",
    "--queue-capacity",
    "256",
    "--overflow",
    "backpressure"
  ],
  startTimeoutMs: 120_000
}

let cluster: Replicas.Cluster
/** Answers per second of the pair, closed loop through HAProxy. */
let capacity = 0
const counts: Record<string, unknown> = {}
/** Records a count and prints it at once (docs/deploy.md quotes them). */
const report = (name: string, value: unknown) => {
  counts[name] = value
  console.log(`scale-out ${name}: ${JSON.stringify(value)}`)
}

const states = async () => Object.fromEntries((await cluster.haproxy.servers()).map((s) => [s.name, s.status]))
const allUp = () =>
  eventually(async () => Object.values(await states()).every((s) => s === "UP"), 60_000, "every replica UP")

beforeAll(async () => {
  expect(Haproxy.available(), "haproxy is not installed (apt-get install haproxy)").toBe(true)
  cluster = await Replicas.start({ ...replicaOptions, count: 2 })
  await allUp()
  await closedLoop(cluster.haproxy.port, 16, 500) // warm-up
  const answered = await closedLoop(cluster.haproxy.port, 16, 1500)
  capacity = answered.filter((s) => s.status === 200).length / 1.5
  report("capacity (req/s, closed loop, 16 clients)", Math.round(capacity))
}, 300_000)

afterAll(async () => {
  await cluster?.stop()
  console.log(`scale-out counts: ${JSON.stringify(counts, null, 2)}`)
})

/** After each case: every replica runs again and is back in the rotation. */
afterEach(async () => {
  for (let i = 0; i < cluster.replicas.length; i++) {
    const exited = await Promise.race([cluster.replicas[i]!.exited, sleep(0).then(() => undefined)])
    if (exited !== undefined) await cluster.restart(i)
  }
  await allUp()
}, 240_000)

/** Runs the load at 80 % of capacity, does `event` after `beforeMs`, goes on for `afterMs`. */
const underLoad = async (beforeMs: number, event: () => void, afterMs: number) => {
  const load = openLoop(cluster.haproxy.port, 0.8 * capacity)
  await sleep(beforeMs)
  const at = performance.now()
  event()
  await sleep(afterMs)
  return { at, sent: await load.stop() }
}

const summary = (sent: ReadonlyArray<Sent>, at: number) => ({
  sent: sent.length,
  answers: tally(sent),
  servedBeforeEvent: byReplica(sent.filter((s) => s.sentAt < at)),
  servedAfterEvent: byReplica(sent.filter((s) => s.sentAt >= at)),
  notOk: sent.filter((s) => s.status !== 200).slice(0, 3).map((s) => ({
    status: s.status,
    error: s.error,
    body: s.body,
    sentMs: Math.round(s.sentAt - at),
    endedMs: Math.round(s.endedAt - at)
  }))
})

describe("two replicas behind HAProxy", () => {
  it("SIGTERM to one replica under load: no request lost, no 5xx", async () => {
    const replica = cluster.replicas[0]!
    const { at, sent } = await underLoad(1000, () => void replica.stop("SIGTERM"), 2000)
    const exit = await replica.exited
    report("SIGTERM", { rate: Math.round(0.8 * capacity), ...summary(sent, at), exit })
    expect(exit.code).toBe(0)
    expect(sent.length).toBeGreaterThan(0.8 * capacity)
    expect(tally(sent)).toEqual({ "200": sent.length })
    // the stopped replica served its share before the signal, the other one everything after
    expect(byReplica(sent.filter((s) => s.sentAt < at))[replica.name]).toBeGreaterThan(0)
    expect(byReplica(sent.filter((s) => s.sentAt > at + 500))).toEqual({
      [cluster.replicas[1]!.name]: sent.filter((s) => s.sentAt > at + 500).length
    })
  }, 120_000)

  it(
    "SIGKILL to one replica under load: the other serves the rest; only requests in flight may fail, with 502/503",
    async () => {
      const replica = cluster.replicas[1]!
      let diedBy = Promise.resolve(0)
      const { at, sent } = await underLoad(1000, () => {
        diedBy = replica.stop("SIGKILL").then(() => performance.now())
      }, 2000)
      const exit = await replica.exited
      const diedAt = await diedBy
      // in flight when it died: sent before its exit was seen, answered after the signal
      const inFlight = sent.filter((s) => s.sentAt < diedAt && s.endedAt >= at)
      const failed = sent.filter((s) => s.status !== 200)
      report("SIGKILL", {
        rate: Math.round(0.8 * capacity),
        ...summary(sent, at),
        killToExitMs: Math.round(diedAt - at),
        inFlightAtKill: inFlight.length,
        failed: failed.length
      })
      expect(exit.signal).toBe("SIGKILL")
      // every request has an HTTP answer from the balancer: 200, or 502/503 for one it could not serve
      for (const s of failed) {
        expect([502, 503]).toContain(s.status)
        // ...and only a request that was in flight when the replica died
        expect(s.sentAt).toBeLessThan(diedAt)
        expect(s.endedAt).toBeGreaterThanOrEqual(at)
      }
      expect(failed.length).toBeLessThanOrEqual(inFlight.length)
      // every request sent after the kill was served by the other replica
      const after = sent.filter((s) => s.sentAt >= at)
      expect(after.length).toBeGreaterThan(0)
      expect(byReplica(after)).toEqual({ [cluster.replicas[0]!.name]: after.length })
      expect(byReplica(sent.filter((s) => s.sentAt < at))[replica.name]).toBeGreaterThan(0)
    },
    120_000
  )

  it("saturation: /ready turns 503, the balancer sends new requests to the other replica", async () => {
    const flooded = cluster.replicas[0]!
    const other = cluster.replicas[1]!
    const flooding = flood(flooded.port)
    try {
      await eventually(
        async () => {
          const r = await send(flooded.port, { path: "/ready" })
          return r.status === 503 && r.body.toString().includes("saturated")
        },
        60_000,
        "/ready 503 saturated"
      )
      await eventually(async () => (await states())[flooded.name] === "DOWN", 60_000, "the flooded replica DOWN")
      const sentTo = async () => (await cluster.haproxy.servers()).find((s) => s.name === flooded.name)!.total
      const before = await sentTo()
      const sent = await closedLoop(cluster.haproxy.port, 8, 1000)
      const stillDown = (await states())[flooded.name] === "DOWN"
      const sentToFlooded = (await sentTo()) - before
      report("saturation", {
        throughBalancer: sent.length,
        answers: tally(sent),
        servedBy: byReplica(sent),
        sentToFlooded,
        stillDown
      })
      expect(tally(sent)).toEqual({ "200": sent.length })
      expect(byReplica(sent)).toEqual({ [other.name]: sent.length })
      expect(sentToFlooded).toBe(0)
      expect(stillDown).toBe(true)
    } finally {
      report("flood (answers to the flood)", await flooding.stop())
    }
    // once the flood ends, it is ready again and back in the rotation
    await allUp()
  }, 120_000)

  it("every replica saturated: the balancer still sends to them (no 503 of its own)", async () => {
    const floods = cluster.replicas.map((r) => flood(r.port))
    try {
      await eventually(
        async () => Object.values(await states()).every((s) => s === "DOWN"),
        60_000,
        "every replica DOWN on /ready"
      )
      const sent = await closedLoop(cluster.haproxy.port, 4, 1000)
      const allDown = Object.values(await states()).every((s) => s === "DOWN")
      report("all saturated", {
        throughBalancer: sent.length,
        answers: tally(sent),
        servedBy: byReplica(sent),
        allDown
      })
      // the fallback backend (checked by TCP) takes them: they wait in the replicas' queues
      expect(sent.length).toBeGreaterThan(0)
      expect(tally(sent)).toEqual({ "200": sent.length })
    } finally {
      for (const f of floods) await f.stop()
    }
    await allUp()
  }, 120_000)
})

/**
 * A flood straight to one replica, past the balancer: 64 clients of 8 inputs wait for room in its
 * queue of 256 (back-pressure), so the queue stays full.
 */
const flood = (port: number) => {
  const via = agent(64)
  let flooding = true
  const answers: Record<string, number> = {}
  const clients = Promise.all(Array.from({ length: 64 }, async (_, c) => {
    for (let i = 0; flooding && i < 10_000; i++) {
      const o = await send(port, {
        path: "/embed",
        body: { inputs: Array.from({ length: 8 }, (_, k) => `flood ${c} ${i} ${k} with a longer text to keep it busy`) }
      }, via)
      const key = String(o.status ?? o.error)
      answers[key] = (answers[key] ?? 0) + 1
    }
  }))
  return {
    stop: async () => {
      flooding = false
      await clients
      via.destroy()
      return answers
    }
  }
}
