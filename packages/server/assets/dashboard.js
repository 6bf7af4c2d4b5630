/* global uPlot, document, window, requestAnimationFrame */
// The dashboard page's script: polls GET /dashboard/feed once per sample interval and plots the
// samples of the last minutes with uPlot (inlined in the page before this script, no CDN).
// Served as is by packages/server/src/dashboard/Page.ts; the fields are those of FeedSchema.ts.
"use strict"
;(() => {
  const palette = ["#2a9d8f", "#e9c46a", "#f4a261", "#9b5de5", "#e76f51", "#d62828", "#8d99ae"]

  /**
   * Each chart: the feed fields it plots, with labels and an optional factor; `log` for a log
   * scale (values that are never 0: quantiles of observed times, token counts and budgets).
   */
  const charts = [
    {
      id: "requests",
      title: "Requests/s by outcome",
      unit: "req/s",
      series: [
        ["requests_ok", "2xx"],
        ["requests_client_error", "4xx"],
        ["requests_overloaded", "429 overloaded"],
        ["requests_unavailable", "503 unavailable"],
        ["requests_timeout", "504 timeout"],
        ["requests_server_error", "5xx"],
        ["requests_gone", "499 client gone"]
      ]
    },
    {
      id: "latency",
      title: "Request latency",
      unit: "ms",
      log: true,
      series: [["latency_p50_ms", "p50"], ["latency_p95_ms", "p95"], ["latency_p99_ms", "p99"]]
    },
    {
      id: "queue",
      title: "Queue depth against capacity",
      unit: "inputs",
      series: [["queue_depth", "queued"], ["queue_capacity", "capacity"]]
    },
    {
      id: "batch-size",
      title: "Batch size and the policy's cap",
      unit: "inputs",
      series: [["batch_size_mean", "mean batch size"], ["batch_size_cap", "policy cap"]]
    },
    {
      id: "batch-tokens",
      title: "Batch tokens and the policy's budget",
      unit: "padded tokens",
      log: true,
      series: [["batch_cost_mean", "mean per batch"], ["batch_budget", "policy budget"]]
    },
    {
      id: "wait",
      title: "Batch wait: the policy's and the queue's",
      unit: "ms",
      series: [["wait_ms", "policy max wait"], ["queue_wait_p95_ms", "queue wait p95"]]
    },
    {
      id: "workers",
      title: "Worker utilisation",
      unit: "%",
      series: [["worker_utilisation", "busy", 100]]
    },
    {
      id: "tokens",
      title: "Tokens/s",
      unit: "tokens/s",
      series: [["tokens_per_s", "tokens"], ["padded_tokens_per_s", "with padding"]]
    },
    {
      id: "event-loop",
      title: "Event-loop delay",
      unit: "ms",
      series: [["event_loop_p50_ms", "p50"], ["event_loop_p99_ms", "p99"], ["event_loop_max_ms", "max"]]
    }
  ]

  const state = { samples: [], windowS: 300, intervalMs: 1000, polls: 0, failures: 0, plots: {} }
  // Read by the browser test (and handy in the console).
  window.adabatchDashboard = state

  const container = document.getElementById("charts")
  const status = document.getElementById("status")

  const width = (el) => Math.max(280, el.clientWidth - 16)

  const clock = (_u, splits) => splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false }))

  const format = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2))

  const build = (chart) => {
    const card = document.createElement("section")
    card.className = "card"
    card.id = `chart-${chart.id}`
    const heading = document.createElement("h2")
    heading.textContent = chart.title
    const now = document.createElement("div")
    now.className = "now"
    card.append(heading, now)
    container.append(card)
    const opts = {
      width: width(card),
      height: 190,
      scales: { x: { time: true }, y: chart.log ? { distr: 3, log: 10 } : {} },
      legend: { live: false },
      series: [
        {},
        ...chart.series.map(([, label], i) => ({
          label,
          stroke: palette[i % palette.length],
          width: 1.5,
          points: { show: false }
        }))
      ],
      axes: [{ values: clock }, { label: chart.unit, size: 56 }]
    }
    const plot = new uPlot(opts, [[], ...chart.series.map(() => [])], card)
    state.plots[chart.id] = plot
    return { chart, card, now, plot }
  }

  const built = charts.map(build)

  const column = (field, scale) =>
    state.samples.map((s) => (s[field] === null || s[field] === undefined ? null : s[field] * (scale ?? 1)))

  const render = () => {
    const xs = state.samples.map((s) => s.t)
    for (const { chart, now, plot } of built) {
      const columns = chart.series.map(([field, , scale]) => column(field, scale))
      plot.setData([xs, ...columns])
      now.textContent = chart.series
        .map(([, label], i) => `${label} ${format(columns[i][columns[i].length - 1])}`)
        .join(" · ")
    }
  }

  const poll = async () => {
    const last = state.samples.length === 0 ? undefined : state.samples[state.samples.length - 1].t
    try {
      const response = await fetch(last === undefined ? "/dashboard/feed" : `/dashboard/feed?since=${last}`, {
        cache: "no-store"
      })
      if (!response.ok) throw new Error(`feed answered ${response.status}`)
      const feed = await response.json()
      state.windowS = feed.window_s
      state.intervalMs = feed.interval_ms
      state.samples.push(...feed.samples)
      const oldest = Date.now() / 1000 - state.windowS
      while (state.samples.length > 0 && state.samples[0].t < oldest) state.samples.shift()
      state.polls++
      status.textContent = `${feed.model ?? "no model"} · ${feed.phase} · ${state.samples.length} samples, ` +
        `one per ${feed.interval_ms / 1000} s over the last ${feed.window_s / 60} min`
      status.className = feed.phase
      requestAnimationFrame(render)
    } catch (e) {
      state.failures++
      status.textContent = `cannot read the feed: ${e instanceof Error ? e.message : String(e)}; retrying`
      status.className = "failing"
    }
    setTimeout(poll, state.intervalMs)
  }

  window.addEventListener("resize", () => {
    for (const { card, plot } of built) plot.setSize({ width: width(card), height: 190 })
  })

  poll()
})()
