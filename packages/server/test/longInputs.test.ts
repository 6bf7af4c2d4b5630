/**
 * Inputs that once held the event loop for a second (megabytes without a space: `!`, CJK, emoji;
 * 32 inputs of 60 KB) are answered as their first tokens, and the event-loop delay is on
 * `/metrics`. Real server on 127.0.0.1, echo model with the `tiny` model's BERT tokenizer (maximum
 * 128 tokens), so a vector is a function of the ids alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { embed, get, type Handle, start } from "./helpers.js"
import { validate } from "./promtext.js"

let server: Handle

beforeAll(async () => {
  server = await start({ model: "echo:tiny", payloadLimit: 2 * 1024 * 1024 })
})

afterAll(() => server.close())

const MB = Math.floor(1.9 * 1024 * 1024)

/** The value of one series in Prometheus text (0 when absent). */
const series = (text: string, line: RegExp): number => Number(line.exec(text)?.[1] ?? 0)

const workerTexts = async () =>
  series((await get(server, "/metrics")).text, /^adabatch_model_tokenizer_worker_texts_total (\S+)$/m)

const vectorOf = async (text: string) => {
  const reply = await embed(server, text, { truncate: true })
  expect(reply.status).toBe(200)
  return (reply.json as Array<Array<number>>)[0]
}

describe("inputs of megabytes without a space", () => {
  const cases = [
    // text, and a short text with the same ids once cut to 128 tokens ([CLS] + 126 + [SEP])
    ["1.9 MB of !", "!".repeat(MB), "!".repeat(126), false],
    ["CJK", "中".repeat(Math.floor(MB / 3)), "中".repeat(126), false],
    // one word longer than WordPiece takes: a single [UNK], tokenized in a worker thread
    ["emoji", "😀".repeat(Math.floor(MB / 4)), "😀".repeat(101), true]
  ] as const

  for (const [name, text, same, viaWorker] of cases) {
    it(`${name}: the vector of its first tokens; refused as too long when it is`, async () => {
      const before = await workerTexts()
      const reply = await embed(server, text, { truncate: true })
      expect(reply.status).toBe(200)
      expect(reply.json).toEqual([await vectorOf(same)])
      expect((await workerTexts()) - before).toBe(viaWorker ? 1 : 0)
      const strict = await embed(server, text, { truncate: false })
      if (viaWorker) {
        expect(strict.status).toBe(200)
      } else {
        expect(strict.status).toBe(422)
        expect(strict.json.error).toMatch(/^input 0 has at least \d+ tokens, more than the model's maximum of 128/)
      }
    })
  }

  it("32 inputs of 60 KB: 32 vectors of their first tokens", async () => {
    const reply = await embed(server, Array.from({ length: 32 }, () => "!".repeat(60 * 1024)), { truncate: true })
    expect(reply.status).toBe(200)
    const reference = await vectorOf("!".repeat(126))
    expect(reply.json).toEqual(Array.from({ length: 32 }, () => reference))
  })
})

describe("adabatch_event_loop_delay_seconds", () => {
  it("is a histogram on /metrics that counts samples and records a stall of the event loop", async () => {
    const over = (text: string) =>
      series(text, /^adabatch_event_loop_delay_seconds_count (\S+)$/m) -
      series(text, /^adabatch_event_loop_delay_seconds_bucket\{le="0\.1"\} (\S+)$/m)
    const first = (await get(server, "/metrics")).text
    expect(first).toMatch(/^# TYPE adabatch_event_loop_delay_seconds histogram$/m)
    expect(series(first, /^adabatch_event_loop_delay_seconds_count (\S+)$/m)).toBeGreaterThan(0)
    expect(validate(first)).toEqual([])
    // hold this process's event loop (the server's too) for 150 ms
    const until = performance.now() + 150
    while (performance.now() < until) {
      // busy
    }
    await new Promise((resolve) => setTimeout(resolve, 30))
    const second = (await get(server, "/metrics")).text
    expect(over(second) - over(first)).toBeGreaterThanOrEqual(1)
    expect(series(second, /^adabatch_event_loop_delay_seconds_sum (\S+)$/m)).toBeGreaterThan(0.1)
  })
})
