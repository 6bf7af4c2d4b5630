/**
 * Background load for the page tests and the dashboard screenshot: `concurrency` loops, each
 * posting `/embed` requests of 1 to `maxInputs` short texts back to back until stopped (or until
 * `maxRequests` in all, so a forgotten load ends by itself).
 */
export interface Load {
  /** Requests answered so far, by status. */
  readonly statuses: () => ReadonlyMap<number, number>
  /** Stops the loops and waits for the requests in flight. */
  readonly stop: () => Promise<void>
}

export interface LoadOptions {
  readonly concurrency?: number
  readonly maxInputs?: number
  readonly maxRequests?: number
  /** Pause between a loop's requests, ms (default 0). */
  readonly pauseMs?: number
}

const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]

const text = (i: number): string =>
  Array.from({ length: 3 + (i % 12) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ")

export const start = (url: string, options: LoadOptions = {}): Load => {
  const concurrency = options.concurrency ?? 4
  const maxInputs = options.maxInputs ?? 8
  const maxRequests = options.maxRequests ?? 50_000
  const statuses = new Map<number, number>()
  let stopped = false
  let sent = 0
  const loop = async (id: number) => {
    while (!stopped && sent < maxRequests) {
      const n = 1 + ((sent * 31 + id) % maxInputs)
      const inputs = Array.from({ length: n }, (_, k) => text(sent + k))
      sent++
      try {
        const response = await fetch(`${url}/embed`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs })
        })
        await response.arrayBuffer()
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1)
      }
      if (options.pauseMs !== undefined && options.pauseMs > 0) {
        await new Promise((r) => setTimeout(r, options.pauseMs))
      }
    }
  }
  const loops = Array.from({ length: concurrency }, (_, i) => loop(i))
  return {
    statuses: () => statuses,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    }
  }
}
