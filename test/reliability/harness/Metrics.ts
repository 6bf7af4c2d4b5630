/**
 * Reading values from the server's `/metrics` (Prometheus text).
 */

/**
 * The value of the series `name` whose labels include `labels` (summed over matching series);
 * 0 when there is none.
 */
export const value = (text: string, name: string, labels: Record<string, string> = {}): number => {
  let sum = 0
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (match === null || match[1] !== name) continue
    const have: Record<string, string> = {}
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      have[pair[1]!] = pair[2]!
    }
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[3])
  }
  return sum
}

/** `adabatch_requests_total` by outcome. */
export const outcomes = (text: string): Record<string, number> =>
  Object.fromEntries(
    ["ok", "rejected", "expired", "cancelled", "failed", "shutdown"].map((o) => [
      o,
      value(text, "adabatch_requests_total", { outcome: o })
    ])
  )
